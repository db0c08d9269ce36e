"""Logs, metrics and traces.

Logger and Metrics are cheap to import and always on. The X-Ray tracer costs about 0.7 s to create
(it loads aws_xray_sdk), so it is built only when tracing is enabled, on first use; with tracing off
``traced`` is a plain pass-through and nothing is imported.
"""
from __future__ import annotations

import functools
from typing import Any, Callable, TypeVar

from aws_lambda_powertools import Logger, Metrics

from chalicelib.settings import get_settings

logger = Logger(service="openpost")
metrics = Metrics(namespace="openpost", service="openpost")

F = TypeVar("F", bound=Callable[..., Any])
_tracer = None


def tracer():
    """The Powertools tracer, created on first use; None when tracing is disabled."""
    global _tracer
    if _tracer is None and get_settings().tracing_enabled:
        from aws_lambda_powertools import Tracer

        _tracer = Tracer(service="openpost")
    return _tracer


def traced(name: str) -> Callable[[F], F]:
    """Trace the decorated function as a subsegment when tracing is on; free when it is off."""

    def decorator(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            active = tracer()
            if active is None:
                return func(*args, **kwargs)
            with active.provider.in_subsegment(f"## {name}"):
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator
