"""Operator commands for a deployment.

    python -m tools.admin create-workspace --name "Acme" --stack openpost

finds the deployment's tables from the CloudFormation stack's outputs (or ``--prefix``), creates the
workspace with a test key, a live key and the sandbox integrations, and prints the keys once.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import List, Optional

PREFIX_OUTPUT = "ResourcePrefix"


def _prefix_from_stack(stack: str, region: Optional[str], endpoint_url: Optional[str]) -> str:
    import boto3

    cloudformation = boto3.client("cloudformation", region_name=region, endpoint_url=endpoint_url)
    stacks = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    outputs = {item["OutputKey"]: item["OutputValue"] for item in stacks[0].get("Outputs", [])}
    if PREFIX_OUTPUT not in outputs:
        raise SystemExit(f"stack {stack} has no {PREFIX_OUTPUT} output; is it an openpost stack?")
    return outputs[PREFIX_OUTPUT]


def create_workspace(args: argparse.Namespace) -> int:
    from chalicelib import container
    from chalicelib.settings import Settings

    region = args.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    endpoint_url = args.endpoint_url or os.environ.get("AWS_ENDPOINT_URL")
    prefix = args.prefix or _prefix_from_stack(args.stack, region, endpoint_url)
    settings = Settings(region=region, resource_prefix=prefix, aws_endpoint_url=endpoint_url)
    created = container.Services(settings).workspaces.create(args.name)
    result = {"workspace_id": created.workspace.id, "test_key": created.test_key, "live_key": created.live_key}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"Workspace {created.workspace.name!r} created: {created.workspace.id}")
        print(f"  test key: {created.test_key}")
        print(f"  live key: {created.live_key}")
        print("These keys are shown once; only their hashes are stored.")
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m tools.admin", description=__doc__.split("\n\n")[0])
    commands = root.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-workspace", help="create a workspace and its first API keys")
    create.add_argument("--name", required=True)
    where = create.add_mutually_exclusive_group(required=True)
    where.add_argument("--stack", help="the CloudFormation stack name of the deployment")
    where.add_argument("--prefix", help="the deployment's resource prefix (the stack's ResourcePrefix output)")
    create.add_argument("--region")
    create.add_argument("--endpoint-url", help="an emulated AWS endpoint, for local use")
    create.add_argument("--json", action="store_true", help="print the result as JSON")
    create.set_defaults(run=create_workspace)
    return root


def main(argv: Optional[List[str]] = None) -> int:
    args = parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
