"""Webhook signatures, URLs and the retry schedule, without AWS.

Signatures are checked with the reference verifier from PyPI (``standardwebhooks``), never with our
own code; the schedule is the one in api-decisions.
"""

from __future__ import annotations

import base64
import datetime as dt
import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from chalicelib.domain import webhook_delivery
from chalicelib.domain.events import CATALOG, Event, event
from chalicelib.webhook_sender import WebhookUrlError, check_url, new_secret, signed_headers


def test_a_signed_message_verifies_with_the_reference_verifier():
    secret = new_secret()
    assert secret.startswith("whsec_") and 24 <= len(base64.b64decode(secret[6:])) <= 64
    body = b'{"type":"webhook.test","data":{"webhook_id":"w"}}'
    headers = signed_headers([secret], "evt_1", int(time.time()), body)
    assert Webhook(secret).verify(body, headers)["type"] == "webhook.test"
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body + b" ", headers)


def test_during_a_rotation_each_secret_verifies_on_its_own():
    old, new = new_secret(), new_secret()
    body = b"{}"
    headers = signed_headers([new, old], "evt_2", int(time.time()), body)
    assert headers["webhook-signature"].count("v1,") == 2
    assert Webhook(old).verify(body, headers) == {} and Webhook(new).verify(body, headers) == {}


@pytest.mark.parametrize(
    "url",
    [
        "https://10.0.0.1/",
        "https://10.255.255.255:8443/x",
        "https://192.168.0.1/",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::ffff:10.0.0.1]/",
        "https://[::ffff:169.254.169.254]/",
        "https://[fd00:ec2::254]/",
        "https://127.0.0.1/",
        "https://0x7f000001/",
        "https://localhost/",
        "http://example.com/",  # plain http, without the local switch
        "https://user@example.com/",
        "https:///nohost",
    ],
)
def test_urls_refused_without_the_local_switch(url):
    with pytest.raises(WebhookUrlError):
        check_url(url, allow_local=False)


@pytest.mark.parametrize("url", ["https://10.0.0.1/", "http://192.168.1.1/", "http://169.254.169.254/"])
def test_the_local_switch_never_opens_private_addresses(url):
    with pytest.raises(WebhookUrlError):
        check_url(url, allow_local=True)


def test_the_local_switch_allows_loopback_over_http():
    check_url("http://127.0.0.1:9000/hook", allow_local=True)
    check_url("https://[::1]:9000/hook", allow_local=True)


def test_the_schedule_is_the_decided_one_with_jitter():
    assert webhook_delivery.SCHEDULE == (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
    for attempt, planned in enumerate(webhook_delivery.SCHEDULE[1:], start=1):
        waits = {webhook_delivery.retry_wait(attempt) for _ in range(50)}
        assert all(0.8 * planned <= wait <= 1.2 * planned for wait in waits) and len(waits) > 1


def test_retry_after_is_read_as_seconds_or_a_date():
    now = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)
    assert webhook_delivery.parse_retry_after("120", now) == 120
    assert webhook_delivery.parse_retry_after("Fri, 01 May 2026 12:02:00 GMT", now) == 120
    assert webhook_delivery.parse_retry_after("soon", now) is None
    assert webhook_delivery.parse_retry_after(None, now) is None


def test_every_event_type_has_a_payload_model_and_unknown_ones_are_refused():
    assert list(CATALOG) == [
        "post.published",
        "post.failed",
        "integration.disconnected",
        "integration.needs_refresh",
        "media.ready",
        "media.rejected",
        "webhook.test",
        "webhook.disabled",
    ]
    with pytest.raises(ValueError):
        event("evt", "post.exploded", dt.datetime.now(dt.UTC), "w", "test", {})
    with pytest.raises(ValueError):  # data that is not the type's payload
        event("evt", "media.ready", dt.datetime.now(dt.UTC), "w", "test", {"post_id": "p"})


def test_the_body_sent_leaves_out_the_workspace():
    built = Event.model_validate(
        event("evt_x", "webhook.test", dt.datetime(2026, 5, 1, tzinfo=dt.UTC), "ws", "live", {"webhook_id": "w"})
    )
    assert b"ws" not in built.body() and b'"created_at":"2026-05-01T00:00:00Z"' in built.body()


def test_a_huge_post_event_is_shortened_under_20_kb_not_dropped():
    targets = [
        {
            "id": f"t{index}",
            "integration_id": f"i{index}",
            "platform": "mastodon",
            "status": "failed",
            "error": {"code": "platform_error", "message": "The instance said: " + "x" * 3000},
        }
        for index in range(30)
    ]
    built = Event.model_validate(
        event(
            "evt_big",
            "post.failed",
            dt.datetime.now(dt.UTC),
            "w",
            "test",
            {"post_id": "p", "status": "failed", "targets": targets},
        )
    )
    body = built.body(20_000)
    assert len(body) < 20_000 and body.count(b'"platform":"mastodon"') == 30 and "…".encode() in body


def test_the_readme_lists_every_event_type():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    for event_type in CATALOG:
        assert f"`{event_type}`" in readme, event_type
