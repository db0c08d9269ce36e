"""The reconciler: every five minutes, settle anything the happy path left behind."""

from __future__ import annotations

from chalicelib.container import services
from chalicelib.observability import logger


def handle(event, context):
    try:
        settled = services().reconciler.run()
        settled["webhook_dead_letters"] = services().webhook_deliveries.settle_dead_letters(
            services().events_dead_letters
        )
        logger.info("reconcile tick", extra={"scheduled_time": (event or {}).get("time"), **settled})
        return settled
    finally:
        services().measures.flush()
