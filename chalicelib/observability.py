"""Logs, metrics and traces.

Logger and Metrics are cheap to import and always on. The X-Ray tracer costs about 0.7 s to create
(it loads aws_xray_sdk), so it is built only when tracing is enabled, on first use; with tracing off
nothing is imported.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics

from chalicelib.settings import get_settings

logger = Logger(service="openpost")
metrics = Metrics(namespace="openpost", service="openpost")

_tracer = None


def tracer():
    """The Powertools tracer, created on first use; None when tracing is disabled."""
    global _tracer
    if _tracer is None and get_settings().tracing_enabled:
        from aws_lambda_powertools import Tracer

        _tracer = Tracer(service="openpost")
    return _tracer
