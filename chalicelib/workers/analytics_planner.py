"""The analytics planner: on its schedule (EventBridge), queue the targets each tier refreshes now."""

from __future__ import annotations

from chalicelib.container import services
from chalicelib.observability import logger


def handle(event, context):
    queued = services().analytics_planner.tick()
    logger.info("analytics plan tick", extra={"scheduled_time": (event or {}).get("time"), "queued": queued})
    return {"queued": queued}
