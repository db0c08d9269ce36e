"""What the engine counts, for the operator: a small port the domain is given, like the clock.

The domain says what happened (``count("TargetsPublished", platform="bluesky")``); where it goes is
decided here. In Lambda it is CloudWatch's embedded metric format (EMF): one JSON line per set of
dimensions at each flush, printed to stdout, which CloudWatch Logs turns into metrics in the one
namespace ``openpost``, each with the dimension ``service=openpost``. Other dimensions are few and
bounded (a platform, a failure code), so the number of custom metrics, and the bill, stays small.
docs/operations.md lists every name and dimension.

Tests and benchmarks use ``CollectedMeasures`` (reads back what was counted) or ``NO_MEASURES``.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import Protocol

NAMESPACE = "openpost"
# Every metric also carries service=openpost, as the API's own (Powertools adds it wherever
# POWERTOOLS_SERVICE_NAME is set, so it is set here always: alarms match one dimension set).
SERVICE = "openpost"


class Measures(Protocol):
    def count(self, name: str, value: float = 1, **dimensions: str) -> None: ...

    def seconds(self, name: str, value: float, **dimensions: str) -> None: ...

    def flush(self) -> None: ...


class NoMeasures:
    def count(self, name: str, value: float = 1, **dimensions: str) -> None:
        pass

    def seconds(self, name: str, value: float, **dimensions: str) -> None:
        pass

    def flush(self) -> None:
        pass


NO_MEASURES = NoMeasures()


class CollectedMeasures:
    """Keeps every value, by name: ``[(value, unit, dimensions), ...]``."""

    def __init__(self):
        self.values: dict[str, list[tuple[float, str, dict]]] = defaultdict(list)

    def count(self, name: str, value: float = 1, **dimensions: str) -> None:
        self.values[name].append((value, "Count", dimensions))

    def seconds(self, name: str, value: float, **dimensions: str) -> None:
        self.values[name].append((value, "Seconds", dimensions))

    def flush(self) -> None:
        pass

    def total(self, name: str, **dimensions: str) -> float:
        return sum(
            v for v, _, d in self.values.get(name, []) if all(d.get(k) == wanted for k, wanted in dimensions.items())
        )


class EmfMeasures:
    """Collects until ``flush`` (the end of an invocation), then prints one EMF line per dimension
    set through Powertools. Safe across threads (the webhook worker handles records in parallel)."""

    def __init__(self, namespace: str = NAMESPACE, service: str = SERVICE):
        self._namespace = namespace
        self._service = service
        self._lock = threading.Lock()
        self._pending: dict[tuple, list[tuple[str, str, float]]] = defaultdict(list)

    def count(self, name: str, value: float = 1, **dimensions: str) -> None:
        self._add(name, "Count", value, dimensions)

    def seconds(self, name: str, value: float, **dimensions: str) -> None:
        self._add(name, "Seconds", value, dimensions)

    def _add(self, name: str, unit: str, value: float, dimensions: dict) -> None:
        key = tuple(sorted((k, str(v)) for k, v in dimensions.items() if v is not None))
        with self._lock:
            self._pending[key].append((name, unit, float(value)))

    def flush(self) -> None:
        from aws_lambda_powertools.metrics import EphemeralMetrics
        from aws_lambda_powertools.metrics.functions import is_metrics_disabled

        with self._lock:
            pending, self._pending = self._pending, defaultdict(list)
        if pending and is_metrics_disabled():
            # The local stack's default (an EMF blob per request is noise there): one log line per
            # flush with the same names, dimensions and values, easy to read in its output.
            from chalicelib.observability import logger

            logger.info("metrics", extra={"metrics": [_summary(dims, values) for dims, values in pending.items()]})
            return
        for dimensions, values in pending.items():
            metrics = EphemeralMetrics(namespace=self._namespace, service=self._service)
            for name, value in dimensions:
                metrics.add_dimension(name=name, value=value)
            for name, unit, value in values:
                metrics.add_metric(name=name, unit=unit, value=value)
            metrics.flush_metrics()


def _summary(dimensions: tuple, values: list[tuple[str, str, float]]) -> dict:
    return {"dimensions": dict(dimensions), "values": [{"name": n, "unit": u, "value": v} for n, u, v in values]}
