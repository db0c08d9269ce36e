"""Stopping is clean: the port is free again at once, and a taken port is a clear error, not a hang."""

from __future__ import annotations

import time

import pytest
import requests

from tests.e2e.stack import RunningStack
from tests.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.e2e


def test_second_start_after_a_clean_stop_works(tmp_path):
    first = RunningStack(tmp_path / "first").wait_until_ready()
    assert requests.get(f"{first.base_url}/v1/openapi.json", timeout=10).status_code == 200
    assert first.stop() == 0
    assert not first.state_file.exists()  # its keys died with the stack

    second = RunningStack(tmp_path / "second", port=first.port)
    try:
        second.wait_until_ready()
        answer = requests.get(
            f"{second.base_url}/v1/integrations",
            timeout=10,
            headers={"Authorization": f"Bearer {second.state['test_key']}"},
        )
        assert answer.status_code == 200
    finally:
        assert second.stop() == 0, second.output()


def test_taken_port_fails_fast_with_a_message(stack, tmp_path):
    clash = RunningStack(tmp_path, port=stack.port)
    assert clash.process.wait(timeout=30) == 1
    assert f"cannot serve on 127.0.0.1:{stack.port}" in clash.output()
    assert not clash.state_file.exists()


def test_the_world_survives_a_restart_and_fresh_starts_empty(tmp_path, receiver):
    """make run, a scheduled post and an uploaded media, Ctrl-C, make run again: the same ids, the same
    keys, the media's bytes; the post due while the stack was down publishes at start-up (saying how
    late) and the one due after publishes on time. Then --fresh starts an empty world."""
    import datetime as dt

    import boto3
    import openpost

    from tests import media_samples

    first = RunningStack(tmp_path).wait_until_ready()
    try:
        client = openpost.Openpost(first.state["test_key"], first.base_url)
        webhook = client.webhooks.create(url=receiver.url("/kept"), events=["webhook.test"])
        receiver.trust("/kept", webhook.secret)
        image = tmp_path / "launch.png"
        image.write_bytes(media_samples.image("image/png", 320, 200))
        media = client.media.upload(image, alt_text="Kept")
        bluesky = next(i for i in client.integrations.list() if i.platform == "bluesky")
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        due_while_down = client.posts.create(
            content="Due while down", integrations=[bluesky.id], schedule_at=now + dt.timedelta(seconds=3)
        )
        due_after = client.posts.create(
            content="Due after", integrations=[bluesky.id], media=[media.id], schedule_at=now + dt.timedelta(seconds=25)
        )
    finally:
        assert first.stop() == 0, first.output()
    assert "saved the world" in first.output()
    time.sleep(4)  # the first post comes due while nothing runs

    second = RunningStack(tmp_path, port=first.port).wait_until_ready()
    try:
        assert (second.state["test_key"], second.state["live_key"]) == (
            first.state["test_key"],
            first.state["live_key"],
        )
        client = openpost.Openpost(second.state["test_key"], second.base_url)
        assert client.media.get(media.id).status == "ready"
        s3 = boto3.client("s3", endpoint_url=second.state["aws_endpoint_url"], region_name=second.state["region"])
        stored = s3.list_objects_v2(Bucket=f"{second.state['resource_prefix']}-media")["Contents"]
        assert [o["Size"] for o in stored] == [image.stat().st_size]
        assert client.posts.get(due_after.id).status == "scheduled"
        second.wait_for(lambda: f"post {due_while_down.id} was due at" in second.output(), 15, "the lateness line")
        assert "late" in next(line for line in second.output().splitlines() if due_while_down.id in line)
        late = wait_until_published(second, client, due_while_down.id)
        assert late.published_at > due_while_down.scheduled_at
        on_time = wait_until_published(second, client, due_after.id)
        assert dt.timedelta(0) <= on_time.published_at - due_after.scheduled_at < dt.timedelta(seconds=10)
        # The webhook and its signing secret, sealed with the KMS key before the restart, still sign.
        client.webhooks.test(webhook.id)
        second.wait_for(lambda: receiver.at("/kept"), 15, "the test delivery")
        assert receiver.at("/kept")[0].verified_by == [webhook.secret]
    finally:
        assert second.stop() == 0, second.output()

    fresh = RunningStack(tmp_path, port=first.port, extra_args=("--fresh",)).wait_until_ready()
    try:
        assert fresh.state["test_key"] != first.state["test_key"]
        client = openpost.Openpost(fresh.state["test_key"], fresh.base_url)
        with pytest.raises(openpost.NotFoundError):
            client.posts.get(due_after.id)
    finally:
        assert fresh.stop() == 0, fresh.output()


@pytest.fixture
def receiver():
    with WebhookReceiver() as running:
        yield running


def wait_until_published(stack, client, post_id):
    return stack.wait_for(
        lambda: (post := client.posts.get(post_id)).status == "published" and post, 40, f"post {post_id} published"
    )
