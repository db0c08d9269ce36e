"""The operator CLI creates a workspace on a fresh deployment, found through its stack outputs."""

from __future__ import annotations

import json

import boto3

from tools import admin


def test_create_workspace_from_stack_outputs(aws, api, capsys):
    boto3.client("cloudformation").create_stack(
        StackName="openpost",
        TemplateBody=json.dumps(
            {
                "Resources": {"Marker": {"Type": "AWS::SQS::Queue"}},
                "Outputs": {"ResourcePrefix": {"Value": aws.prefix}},
            }
        ),
    )
    assert admin.main(["create-workspace", "--name", "Acme", "--stack", "openpost", "--json"]) == 0
    created = json.loads(capsys.readouterr().out)
    assert created["test_key"].startswith("op_test_sk_") and created["live_key"].startswith("op_live_sk_")
    assert api.get("/v1/integrations", created["test_key"]).json["total"] >= 2
    assert api.get("/v1/integrations", created["live_key"]).json["total"] == 0


def test_create_workspace_with_prefix(aws, api, capsys):
    assert admin.main(["create-workspace", "--name", "Acme", "--prefix", aws.prefix]) == 0
    out = capsys.readouterr().out
    test_key = next(line.split()[-1] for line in out.splitlines() if "test key" in line)
    assert api.get("/v1/api-keys", test_key).status == 200
