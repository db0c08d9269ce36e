"""The dispatcher: every minute (EventBridge), queue the post targets due before the next tick."""

from __future__ import annotations

from chalicelib.container import services
from chalicelib.observability import logger


def handle(event, context):
    queued = services().dispatcher.tick()
    logger.info("dispatch tick", extra={"scheduled_time": (event or {}).get("time"), "queued": queued})
    return {"queued": queued}
