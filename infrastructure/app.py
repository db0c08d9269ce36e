"""CDK entry point (cdk.json runs `python -m infrastructure.app`).

Context values, given as `-c name=value` to the CDK CLI:
  stack_name       the stack, and the prefix of every resource it names (default "openpost")
  cors_origins     origins allowed to upload media from a browser: a JSON list or a comma-separated
                   string (default "*")
  tracing          "true" turns on X-Ray tracing in the functions (default off)
  public_base_url  the public URL of the API, if it is served behind a domain of your own
  alarm_email      an address subscribed to the alarm topic (it confirms by email); without it,
                   subscribe whatever reaches your on-call to the topic (output AlarmTopicArn)
"""

from __future__ import annotations

import json
import os
from typing import Any

import aws_cdk as cdk

from infrastructure.stack import OpenpostStack

DEFAULT_STACK_NAME = "openpost"


def origins(value: Any) -> list[str]:
    if value is None:
        return ["*"]
    if isinstance(value, str):
        value = value.strip()
        value = json.loads(value) if value.startswith("[") else value.split(",")
    return [origin.strip() for origin in value if origin.strip()]


def flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def main() -> None:
    # Chalice asks boto3 for a region while it packages the app (to name AWS service principals);
    # the stack itself is region-agnostic, and the CDK CLI says which region it deploys to.
    if not (os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")):
        os.environ["AWS_DEFAULT_REGION"] = os.environ.get("CDK_DEFAULT_REGION", "us-east-1")

    app = cdk.App()
    stack_name = app.node.try_get_context("stack_name") or DEFAULT_STACK_NAME
    OpenpostStack(
        app,
        stack_name,
        description="openpost: scheduled posting to social platforms",
        cors_origins=origins(app.node.try_get_context("cors_origins")),
        tracing=flag(app.node.try_get_context("tracing")),
        public_base_url=app.node.try_get_context("public_base_url"),
        alarm_email=app.node.try_get_context("alarm_email") or None,
    )
    app.synth()


if __name__ == "__main__":
    main()
