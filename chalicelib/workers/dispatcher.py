"""The dispatcher: runs every minute (EventBridge) and queues the post targets due before the next tick."""
from __future__ import annotations

from chalicelib.observability import logger


def handle(event, context):
    logger.info("dispatch tick", extra={"scheduled_time": (event or {}).get("time")})
    return {"queued": 0}
