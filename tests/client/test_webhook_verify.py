"""openpost.webhooks.verify accepts what the reference Standard Webhooks signer signs (standardwebhooks
from PyPI, not our code), with either secret during a rotation, and refuses tampering and replays."""

from __future__ import annotations

import base64
import datetime as dt
import json

import openpost
import pytest
from standardwebhooks.webhooks import Webhook

SECRET = "whsec_" + base64.b64encode(b"a secret of thirty-two bytes!!!!").decode()
OTHER = "whsec_" + base64.b64encode(b"another secret, thirty-two bytes").decode()
BODY = json.dumps({"type": "post.published", "data": {"post_id": "p1"}}).encode()


def signed(secret, body=BODY, when=None, msg_id="msg_1"):
    when = when or dt.datetime.now(dt.UTC)
    signature = Webhook(secret).sign(msg_id, when, body.decode())
    return {"webhook-id": msg_id, "webhook-timestamp": str(int(when.timestamp())), "webhook-signature": signature}


def test_a_reference_signature_verifies_and_gives_the_event():
    assert openpost.webhooks.verify(BODY, signed(SECRET), SECRET)["data"] == {"post_id": "p1"}
    assert openpost.webhooks.verify(BODY.decode(), signed(SECRET), SECRET)["type"] == "post.published"


def test_during_a_rotation_either_secret_verifies():
    headers = signed(OTHER)
    headers["webhook-signature"] = f"{signed(SECRET)['webhook-signature']} {headers['webhook-signature']}"
    assert openpost.webhooks.verify(BODY, headers, [SECRET])["type"] == "post.published"
    assert openpost.webhooks.verify(BODY, signed(OTHER), [SECRET, OTHER])["type"] == "post.published"


@pytest.mark.parametrize(
    "body, headers, secret",
    [
        (BODY.replace(b"p1", b"p2"), signed(SECRET), SECRET),
        (BODY, signed(SECRET), OTHER),
        (BODY, signed(SECRET, when=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)), SECRET),
        (BODY, {**signed(SECRET), "webhook-id": "msg_2"}, SECRET),
        (BODY, {"webhook-id": "msg_1"}, SECRET),
    ],
    ids=["tampered body", "wrong secret", "replayed", "other id", "unsigned"],
)
def test_refused(body, headers, secret):
    with pytest.raises(openpost.WebhookVerificationError):
        openpost.webhooks.verify(body, headers, secret)
