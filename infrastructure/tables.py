"""DynamoDB tables, built from the PynamoDB models so that the models stay their only definition."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from chalicelib.data.models import TABLE_MODELS, ttl_attribute

_ATTRIBUTE_TYPES = {
    "S": dynamodb.AttributeType.STRING,
    "N": dynamodb.AttributeType.NUMBER,
    "B": dynamodb.AttributeType.BINARY,
}

_PROJECTIONS = {
    "ALL": dynamodb.ProjectionType.ALL,
    "KEYS_ONLY": dynamodb.ProjectionType.KEYS_ONLY,
    "INCLUDE": dynamodb.ProjectionType.INCLUDE,
}


def table_name(prefix: str, logical_name: str) -> str:
    return f"{prefix}-{logical_name}"


def hash_and_range(key_schema: Iterable[Mapping[str, str]]) -> tuple[str, str | None]:
    """The (HASH, RANGE) attribute names of a key schema, in whatever order PynamoDB listed them."""
    roles = {element["KeyType"]: element["AttributeName"] for element in key_schema}
    return roles["HASH"], roles.get("RANGE")


def _attribute(name: str | None, types: Mapping[str, str]) -> dynamodb.Attribute | None:
    if name is None:
        return None
    return dynamodb.Attribute(name=name, type=_ATTRIBUTE_TYPES[types[name]])


def add_tables(scope: Construct, prefix: str) -> dict[str, dynamodb.Table]:
    """One table per model in TABLE_MODELS, keyed by the model's logical name."""
    tables = {}
    for model in TABLE_MODELS:
        schema = model._get_schema()
        types = {d["AttributeName"]: d["AttributeType"] for d in schema["attribute_definitions"]}
        if schema["local_secondary_indexes"]:
            # An LSI can only be created with its table; refuse rather than deploy a table without it.
            raise NotImplementedError(f"{model.__name__}: local secondary indexes are not supported")
        hash_key, range_key = hash_and_range(schema["key_schema"])
        table = dynamodb.Table(
            scope,
            f"{model.__name__}Table",
            table_name=table_name(prefix, model.logical_name),
            partition_key=_attribute(hash_key, types),
            sort_key=_attribute(range_key, types),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            time_to_live_attribute=ttl_attribute(model),
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            # The tables hold our users' data: neither a stack deletion nor a mistaken replacement
            # may drop them.
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        for index in schema["global_secondary_indexes"]:
            index_hash, index_range = hash_and_range(index["key_schema"])
            index_types = {d["AttributeName"]: d["AttributeType"] for d in index["attribute_definitions"]}
            projection = index["projection"]
            table.add_global_secondary_index(
                index_name=index["index_name"],
                partition_key=_attribute(index_hash, index_types),
                sort_key=_attribute(index_range, index_types),
                projection_type=_PROJECTIONS[projection["ProjectionType"]],
                non_key_attributes=projection.get("NonKeyAttributes"),
            )
        tables[model.logical_name] = table
    return tables
