"""Fixtures shared by the integration tests that drive the Lambda handlers through real queues."""

from __future__ import annotations

import json

import pytest

from tests.conftest import TIME_LEFT
from tests.integration.lambda_runtime import LambdaRuntime


@pytest.fixture
def runtime(aws, services):
    """Delivers moto's queue messages and scheduled events to the very handlers Lambda runs."""
    return LambdaRuntime(aws)


def publish_directly(services, runtime) -> str:
    """Run the publisher on the one waiting message without the queue, so that what it raises (a
    RetryLaterError) reaches the test; the worker is told it has a fresh invocation's time."""
    (message,) = runtime.peek()
    body = json.loads(message["Body"])
    return services.publisher.publish(
        body["workspace_id"],
        body["mode"],
        body["post_id"],
        body["target_id"],
        body["dispatch_id"],
        time_left=lambda: TIME_LEFT,
    )
