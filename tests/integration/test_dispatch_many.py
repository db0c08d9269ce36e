"""A tick with many posts due arms them side by side: each exactly once, none lost."""

from __future__ import annotations

from chalicelib.data.posts import PostStore

SOON = "2026-05-01T12:02:00Z"  # the test clock stands at 12:00:00
POSTS = 30


def test_a_tick_arms_every_due_post_once_side_by_side(api, runtime, services, workspace, clock):
    key = workspace.test_key
    ids = []
    for number in range(POSTS):
        body = {"content": f"Due together {number}", "platforms": ["twitter"], "schedule_at": SOON}
        answer = api.post("/v1/posts", key, body)
        assert answer.status == 201, answer
        ids.append(answer.json["data"]["id"])
    clock.advance(seconds=119.5)
    assert services.dispatcher.tick() == POSTS
    assert services.dispatcher.tick() == 0  # armed: the next tick leaves them be
    store = PostStore()
    assert all(store.get(f"{workspace.workspace.id}#test", post_id).dispatch_id for post_id in ids)
    counts = runtime.sqs.get_queue_attributes(
        QueueUrl=runtime.queues["publish"],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed"],
    )["Attributes"]
    assert sum(int(value) for value in counts.values()) == POSTS  # one message per target
