"""The publish queue: one message per post target."""
from __future__ import annotations

from typing import Callable

from chalicelib.domain.posts import Post
from chalicelib.workers.messages import PublishMessage

SQS_BATCH = 10
MAX_DELAY_SECONDS = 900   # SQS's limit on DelaySeconds


class QueueSendError(Exception):
    pass


class PublishQueue:
    def __init__(self, sqs_client_factory: Callable[[], object], url: str):
        self._client_factory = sqs_client_factory
        self._client = None
        self._url = url

    @property
    def _sqs(self):
        if self._client is None:
            self._client = self._client_factory()
        return self._client

    def send_targets(self, post: Post, delay_seconds: int = 0) -> None:
        """Queue every target of the post, visible after ``delay_seconds`` (0 to 900)."""
        delay = max(0, min(MAX_DELAY_SECONDS, int(delay_seconds)))
        entries = [{
            "Id": str(index),
            "MessageBody": PublishMessage(workspace_id=post.workspace_id, mode=post.mode, post_id=post.id,
                                          target_id=target.id, dispatch_id=post.dispatch_id).model_dump_json(),
            "DelaySeconds": delay,
        } for index, target in enumerate(post.targets)]
        for start in range(0, len(entries), SQS_BATCH):
            result = self._sqs.send_message_batch(QueueUrl=self._url, Entries=entries[start:start + SQS_BATCH])
            if result.get("Failed"):
                raise QueueSendError(f"{len(result['Failed'])} publish messages were refused: {result['Failed'][0]}")
