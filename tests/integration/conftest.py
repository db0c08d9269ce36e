"""Fixtures shared by the integration tests that drive the Lambda handlers through real queues."""

from __future__ import annotations

import pytest

from tests.integration.lambda_runtime import LambdaRuntime


@pytest.fixture
def runtime(aws, services):
    """Delivers moto's queue messages and scheduled events to the very handlers Lambda runs."""
    return LambdaRuntime(aws)
