"""A publish reads its account once and opens its credentials once per container and version; a
refresh or disconnect made elsewhere is never published through with what the container kept.

Counted at the SDK: reads of the integrations table (GetItem, or BatchGetItem naming it: the publisher
reads the account with its post) and KMS Decrypt, on the clients every thread of the publisher shares."""

from __future__ import annotations

import pytest

from chalicelib.data.models import IntegrationRecord, PostRecord
from chalicelib.domain.credentials import AccountCredentials
from tests.integration.conftest import MASTODON_TOKEN, connect, integration_status, publish_now, the_target


@pytest.fixture
def services(chat_services):
    return chat_services


@pytest.fixture
def key(workspace):
    return workspace.live_key


@pytest.fixture
def account(api, key, mastodon):
    return connect(api, key, "mastodon", {"instance_url": mastodon.url, "access_token": MASTODON_TOKEN})


@pytest.fixture
def counted(services):
    calls = {"integration reads": 0, "decrypts": 0}

    table = IntegrationRecord.Meta.table_name

    def read(params, **_):
        if params.get("TableName") == table or table in params.get("RequestItems", {}):
            calls["integration reads"] += 1

    def decrypt(**_):
        calls["decrypts"] += 1

    clients = {id(model._get_connection().connection.client): model for model in (IntegrationRecord, PostRecord)}
    dynamodb = [model._get_connection().connection.client.meta.events for model in clients.values()]
    kms = services.secret_box.client.meta.events
    for events in dynamodb:
        events.register("before-parameter-build.dynamodb.GetItem", read)
        events.register("before-parameter-build.dynamodb.BatchGetItem", read)
    kms.register("before-call.kms.Decrypt", decrypt)
    yield calls
    for events in dynamodb:
        events.unregister("before-parameter-build.dynamodb.GetItem", read)
        events.unregister("before-parameter-build.dynamodb.BatchGetItem", read)
    kms.unregister("before-call.kms.Decrypt", decrypt)


def _published(api, key, runtime, counted, content: str) -> tuple[dict, dict]:
    post_id = publish_now(api, key, "mastodon", content)
    before = dict(counted)
    runtime.drain()
    spent = {name: counted[name] - before[name] for name in counted}
    return the_target(api, key, post_id), spent


def test_one_read_of_the_account_a_publish_and_one_decrypt_a_version(
    api, key, runtime, mastodon, account, counted, services, workspace
):
    first, spent = _published(api, key, runtime, counted, "First")
    assert first["status"] == "published"
    assert spent == {"integration reads": 1, "decrypts": 1}

    second, spent = _published(api, key, runtime, counted, "Second")
    assert second["status"] == "published"
    assert spent == {"integration reads": 1, "decrypts": 0}  # the container opened this version already
    assert [status["content"] for status in mastodon.statuses()] == ["<p>First</p>", "<p>Second</p>"]

    # Elsewhere (another container, a reconnect), the tokens are replaced by ones the server refuses.
    held = AccountCredentials(services.credentials, workspace.workspace.id, "live", account["id"])
    held.replace({**held.value, "access_token": "a-token-revoked-since"})
    third, spent = _published(api, key, runtime, counted, "Third")
    assert spent["decrypts"] == 1  # the new version, opened: never the tokens kept from before
    assert third["status"] == "failed" and third["error"]["code"] == "integration_needs_refresh"
    assert len(mastodon.statuses()) == 2


def test_an_account_disconnected_after_the_post_was_queued_is_not_published_to(
    api, key, runtime, mastodon, account, counted
):
    first, _ = _published(api, key, runtime, counted, "Before")
    assert first["status"] == "published"  # the container holds this account's opened credentials
    post_id = publish_now(api, key, "mastodon", "After")  # queued while the account was connected
    assert api.delete(f"/v1/integrations/{account['id']}", key).status == 204
    runtime.drain()
    target = the_target(api, key, post_id)
    assert target["status"] == "failed" and target["error"]["code"] == "integration_disconnected"
    assert integration_status(api, key, account["id"]) == "disconnected"
    assert [status["content"] for status in mastodon.statuses()] == ["<p>Before</p>"]
