"""Logs and metrics: Powertools' Logger and Metrics, cheap to import and always on."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics

logger = Logger(service="openpost")
metrics = Metrics(namespace="openpost", service="openpost")
