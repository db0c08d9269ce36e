"""Disconnecting an integration, and credentials that no table read can reveal."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError

from chalicelib.data.integrations import IntegrationStore, to_record
from chalicelib.domain.credentials import AccountCredentials
from chalicelib.domain.records import Integration
from tests.conftest import problem
from tests.integration.lambda_runtime import LambdaRuntime

TOKEN = "secret-access-token-9f8e7d6c5b4a"


@pytest.fixture
def live_account(services, workspace, clock):
    now = clock.now()
    integration = Integration(
        id="0196a0c4-3333-7000-8000-000000000003",
        workspace_id=workspace.workspace.id,
        mode="live",
        platform="mastodon",
        username="openpost@example.social",
        display_name="openpost",
        status="active",
        created_at=now,
        updated_at=now,
    )
    to_record(integration).save()
    held = AccountCredentials(services.credentials, integration.workspace_id, "live", integration.id)
    held.replace({"access_token": TOKEN, "instance": "https://example.social"})
    return integration


def test_credentials_are_sealed_and_never_shown(api, workspace, live_account, services):
    item = boto3.client("dynamodb").get_item(
        TableName=f"{services.settings.resource_prefix}-integrations",
        Key={"scope": {"S": f"{workspace.workspace.id}#live"}, "id": {"S": live_account.id}},
    )["Item"]
    assert TOKEN not in json.dumps(item) and "credentials" in item
    shown = api.get(f"/v1/integrations/{live_account.id}", workspace.live_key)
    assert shown.status == 200 and TOKEN not in shown.raw.decode() and "credentials" not in shown.json["data"]
    held = AccountCredentials(services.credentials, workspace.workspace.id, "live", live_account.id)
    assert held.value["access_token"] == TOKEN


def test_a_rotated_token_is_never_overwritten_by_an_older_one(services, workspace, live_account):
    first = AccountCredentials(services.credentials, workspace.workspace.id, "live", live_account.id)
    second = AccountCredentials(services.credentials, workspace.workspace.id, "live", live_account.id)
    assert first.value["access_token"] == second.value["access_token"] == TOKEN
    first.replace({"access_token": "rotated-by-the-first-worker"})
    # The second worker refreshed from the same old token, but the first one's save came first:
    # it is told, and uses the newest tokens instead of overwriting them.
    assert second.replace({"access_token": "rotated-by-the-second"})["access_token"] == "rotated-by-the-first-worker"
    again = AccountCredentials(services.credentials, workspace.workspace.id, "live", live_account.id)
    assert again.value["access_token"] == "rotated-by-the-first-worker"


def test_sealed_credentials_do_not_open_for_another_integration(services, workspace, live_account):
    sealed = services.credentials.seal(workspace.workspace.id, "live", live_account.id, {"access_token": TOKEN})
    with pytest.raises(ClientError, match="InvalidCiphertext"):
        services.secret_box.open(
            sealed,
            {
                "purpose": "platform-credentials",
                "scope": f"{workspace.workspace.id}#live",
                "integration_id": "another-integration",
            },
        )


def test_disconnect_marks_erases_and_tells(api, aws, workspace, live_account, services):
    runtime = LambdaRuntime(aws)
    assert api.delete(f"/v1/integrations/{live_account.id}", workspace.live_key).status == 204
    shown = api.get(f"/v1/integrations/{live_account.id}", workspace.live_key).json["data"]
    assert shown["status"] == "disconnected"
    assert api.get("/v1/integrations", workspace.live_key).json["total"] == 0  # listed only on request
    assert api.get("/v1/integrations?status=disconnected", workspace.live_key).json["total"] == 1
    assert services.credentials.load(workspace.workspace.id, "live", live_account.id)[0] == {}
    (event,) = runtime.events()
    assert event["type"] == "integration.disconnected" and event["data"]["integration_id"] == live_account.id
    assert TOKEN not in json.dumps(event)
    assert api.delete(f"/v1/integrations/{live_account.id}", workspace.live_key).status == 204  # idempotent
    assert runtime.events() == []


def test_disconnecting_another_modes_integration_is_404(api, workspace, live_account):
    problem(api.delete(f"/v1/integrations/{live_account.id}", workspace.test_key), 404, "integration_not_found")
    assert IntegrationStore().get(workspace.workspace.id, "live", live_account.id).status == "active"


def test_reconnecting_keeps_the_integration_and_takes_the_new_credentials(services, workspace, api):
    live = services.api_keys.authenticate(f"Bearer {workspace.live_key}")
    first = services.integrations.connect(
        live,
        "mastodon",
        "4242",
        "me@example.social",
        "Me",
        {"access_token": "first"},
        {"instance_url": "https://example.social"},
    )
    assert api.delete(f"/v1/integrations/{first.id}", workspace.live_key).status == 204
    again = services.integrations.connect(
        live, "mastodon", "4242", "me@example.social", "Me, renamed", {"access_token": "second"}
    )
    assert again.id == first.id and again.created_at == first.created_at
    shown = api.get(f"/v1/integrations/{first.id}", workspace.live_key).json["data"]
    assert shown["status"] == "active" and shown["display_name"] == "Me, renamed"
    assert services.credentials.load(workspace.workspace.id, "live", first.id)[0] == {"access_token": "second"}


def test_connecting_in_test_mode_is_refused(services, workspace):
    from chalicelib.errors import ValidationError

    test = services.api_keys.authenticate(f"Bearer {workspace.test_key}")
    with pytest.raises(ValidationError) as refused:
        services.integrations.connect(test, "mastodon", "1", "u", "d", {"access_token": "x"})
    assert refused.value.code == "live_mode_required"


def test_a_connect_never_overwrites_credentials_that_changed_since_it_read_them(services, workspace, live_account):
    """The connect's write names the credentials version it read: a token refreshed (or another
    connect) in between wins, and this write is refused rather than putting older tokens back."""
    from chalicelib.errors import ConflictError

    store = IntegrationStore()
    sealed = services.credentials.seal(workspace.workspace.id, "live", live_account.id, {"access_token": "stale"})
    _, version = services.credentials.load(workspace.workspace.id, "live", live_account.id)
    held = AccountCredentials(services.credentials, workspace.workspace.id, "live", live_account.id)
    held.replace({"access_token": "refreshed", "instance": "https://example.social"})  # meanwhile
    with pytest.raises(ConflictError) as changed:
        store.upsert(live_account, sealed, replaces_version=version)
    assert changed.value.code == "integration_changed"
    with pytest.raises(ConflictError):
        store.upsert(live_account, sealed, replaces_version=None)  # "new", but the id is taken
    assert services.credentials.load(workspace.workspace.id, "live", live_account.id)[0]["access_token"] == "refreshed"
    store.upsert(live_account, sealed, replaces_version=version + 1)  # on the current version: written
    assert services.credentials.load(workspace.workspace.id, "live", live_account.id)[0] == {"access_token": "stale"}
