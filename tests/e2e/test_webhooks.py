"""Webhooks end to end in the local stack: a loopback receiver registered over HTTP gets what the
engine does, signed (checked with the reference verifier in tests/webhook_receiver.py)."""

from __future__ import annotations

import pytest
import requests

from tests.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.e2e


def call(stack, method, path, body=None):
    headers = {"Authorization": f"Bearer {stack.state['test_key']}"}
    return requests.request(method, f"{stack.base_url}{path}", json=body, headers=headers, timeout=15)


@pytest.fixture
def receiver(stack):
    with WebhookReceiver() as running:
        yield running


def register(stack, receiver, path, events):
    answer = call(stack, "POST", "/v1/webhooks", {"url": receiver.url(path), "events": events})
    assert answer.status_code == 201, answer.text
    created = answer.json()["data"]
    receiver.trust(path, created["secret"])
    return created


def arrivals(stack, receiver, path, event_type, count=1, timeout=30):
    return stack.wait_for(
        lambda: [item for item in receiver.at(path) if item.type == event_type][:count] or None,
        timeout,
        f"{event_type} at {path}",
    )


def publish(stack, content, platforms):
    post = call(stack, "POST", "/v1/posts", {"content": content, "platforms": platforms}).json()["data"]
    assert call(stack, "POST", f"/v1/posts/{post['id']}/publish").status_code == 202
    return post


def test_a_published_post_reaches_the_receiver_with_its_target_url(stack, receiver):
    hook = register(stack, receiver, "/published", ["post.published"])
    post = publish(stack, "Announcing webhooks", ["twitter"])
    [got] = arrivals(stack, receiver, "/published", "post.published")
    assert got.verified_by and got.webhook_id == f"evt_{post['id']}_published"
    [target] = got.payload["data"]["targets"]
    assert target["status"] == "published" and target["platform_post_url"].startswith("https://sandbox.openpost.dev/")
    log = call(stack, "GET", f"/v1/webhooks/{hook['id']}/deliveries").json()
    assert log["total"] >= 1 and log["data"][0]["status"] in ("succeeded", "sending")
    call(stack, "DELETE", f"/v1/webhooks/{hook['id']}")


def test_a_post_failed_by_a_sandbox_marker_gives_post_failed(stack, receiver):
    hook = register(stack, receiver, "/failed", ["post.failed"])
    post = publish(stack, "[sandbox:reject] This one is refused", ["bluesky"])
    [got] = arrivals(stack, receiver, "/failed", "post.failed")
    assert got.verified_by and got.payload["data"]["post_id"] == post["id"]
    assert got.payload["data"]["targets"][0]["error"]["code"]
    call(stack, "DELETE", f"/v1/webhooks/{hook['id']}")


def test_disconnecting_gives_integration_disconnected(stack, receiver):
    hook = register(stack, receiver, "/accounts", ["integration.disconnected"])
    integrations = call(stack, "GET", "/v1/integrations").json()["data"]
    account = next(item for item in integrations if item["platform"] == "telegram")
    assert call(stack, "DELETE", f"/v1/integrations/{account['id']}").status_code == 204
    [got] = arrivals(stack, receiver, "/accounts", "integration.disconnected")
    assert got.verified_by and got.payload["data"]["integration_id"] == account["id"]
    call(stack, "DELETE", f"/v1/webhooks/{hook['id']}")


def test_an_endpoint_that_hangs_holds_up_no_other_delivery(stack, receiver):
    """While one endpoint keeps a delivery hanging until the 10 s timeout, the events that follow
    still reach another endpoint at once (Lambda would run them in other invocations; the local
    stack polls the events queue side by side)."""
    import time

    hanging = register(stack, receiver, "/hangs", ["post.published"])
    fast = register(stack, receiver, "/fast", ["post.published"])
    receiver.script("/hangs", (200, {}, 15.0))
    publish(stack, "The first one", ["twitter"])
    stack.wait_for(lambda: receiver.at("/hangs") or None, 20, "the first delivery to the hanging endpoint")
    second = publish(stack, "The second one", ["twitter"])
    sent = time.time()
    arrived = stack.wait_for(
        lambda: [i for i in receiver.at("/fast") if i.payload["data"]["post_id"] == second["id"]] or None,
        8,
        "the second post at the fast endpoint while the other hangs",
    )
    assert arrived[0].arrived - sent < 5.0
    for hook in (hanging, fast):
        call(stack, "DELETE", f"/v1/webhooks/{hook['id']}")
