"""Operator commands for a deployment.

    python -m tools.admin create-workspace --name "Acme" --stack openpost

finds the deployment's tables from the CloudFormation stack's outputs (or ``--prefix``), creates the
workspace with a test key, a live key and the sandbox integrations, and prints the keys once.

    python -m tools.admin set-rate-limit --workspace W --policy posts --quota 120 --window 60 --stack openpost

gives one workspace its own quota and window for a rate limit policy (``--reset`` returns it to the
deployment's default); every API container sees the change within a minute.

    python -m tools.admin status --stack openpost

one screen for an operator: queue depths and ages, dead letters, posts past due or stuck publishing,
integrations needing a refresh, disabled webhooks (tools/status.py, docs/operations.md).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

PREFIX_OUTPUT = "ResourcePrefix"


def _prefix_from_stack(stack: str, region: str | None, endpoint_url: str | None) -> str:
    import boto3

    cloudformation = boto3.client("cloudformation", region_name=region, endpoint_url=endpoint_url)
    stacks = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    outputs = {item["OutputKey"]: item["OutputValue"] for item in stacks[0].get("Outputs", [])}
    if PREFIX_OUTPUT not in outputs:
        raise SystemExit(f"stack {stack} has no {PREFIX_OUTPUT} output; is it an openpost stack?")
    return outputs[PREFIX_OUTPUT]


def _services(args: argparse.Namespace):
    """The deployment's services, found through its stack (or prefix), with its default settings."""
    from chalicelib import container
    from chalicelib.settings import Settings

    region = args.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    endpoint_url = args.endpoint_url or os.environ.get("AWS_ENDPOINT_URL")
    prefix = args.prefix or _prefix_from_stack(args.stack, region, endpoint_url)
    return container.Services(Settings(region=region, resource_prefix=prefix, aws_endpoint_url=endpoint_url))


def create_workspace(args: argparse.Namespace) -> int:
    created = _services(args).workspaces.create(args.name)
    result = {"workspace_id": created.workspace.id, "test_key": created.test_key, "live_key": created.live_key}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"Workspace {created.workspace.name!r} created: {created.workspace.id}")
        print(f"  test key: {created.test_key}")
        print(f"  live key: {created.live_key}")
        print("These keys are shown once; only their hashes are stored.")
    return 0


def set_rate_limit(args: argparse.Namespace) -> int:
    from chalicelib.errors import OpenpostError

    if args.reset == (args.quota is not None or args.window is not None):
        print("give --quota and/or --window, or --reset", file=sys.stderr)
        return 2
    try:
        overrides = _services(args).rate_limiter.set_override(args.workspace, args.policy, args.quota, args.window)
    except OpenpostError as error:
        print(error.detail, file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({"workspace_id": args.workspace, "rate_limits": overrides}))
    else:
        print(
            f"Workspace {args.workspace}: "
            + (
                ", ".join(
                    f"{name} {limit['quota']} per {limit['window']} s" for name, limit in sorted(overrides.items())
                )
                or "the deployment's default rate limits"
            )
        )
        print("API containers see the change within a minute.")
    return 0


def status(args: argparse.Namespace) -> int:
    from tools.status import read_status, render

    found = read_status(_services(args))
    print(json.dumps(found.as_dict()) if args.json else render(found))
    return 0


def _deployment_arguments(command: argparse.ArgumentParser) -> None:
    where = command.add_mutually_exclusive_group(required=True)
    where.add_argument("--stack", help="the CloudFormation stack name of the deployment")
    where.add_argument("--prefix", help="the deployment's resource prefix (the stack's ResourcePrefix output)")
    command.add_argument("--region")
    command.add_argument("--endpoint-url", help="an emulated AWS endpoint, for local use")
    command.add_argument("--json", action="store_true", help="print the result as JSON")


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m tools.admin", description=__doc__.split("\n\n")[0])
    commands = root.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-workspace", help="create a workspace and its first API keys")
    create.add_argument("--name", required=True)
    _deployment_arguments(create)
    create.set_defaults(run=create_workspace)
    limit = commands.add_parser("set-rate-limit", help="a workspace's own quota and window for a rate limit policy")
    limit.add_argument("--workspace", required=True, help="the workspace id")
    limit.add_argument("--policy", required=True, help="default, posts or media")
    limit.add_argument("--quota", type=int, help="requests per window, per API key")
    limit.add_argument("--window", type=int, help="seconds; divides 3600 (60, 300, 3600, ...)")
    limit.add_argument("--reset", action="store_true", help="back to the deployment's default for this policy")
    _deployment_arguments(limit)
    limit.set_defaults(run=set_rate_limit)
    state = commands.add_parser(
        "status", help="queues, dead letters, stuck posts, integrations and webhooks to look at"
    )
    _deployment_arguments(state)
    state.set_defaults(run=status)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
