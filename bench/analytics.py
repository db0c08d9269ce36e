"""Analytics refresh at scale: 10,000 published targets across X, Bluesky and Mastodon.

The planner and the refresh function run as Lambda runs them (their handlers in app.py, fed from
moto's queues by tests/integration/lambda_runtime.py, in-process), against the local platform
servers: X (tests/platform_servers/x_api.py), Mastodon 4.3 (mastodon_media.py) and an AppView-shaped
server for Bluesky's getPosts (bluesky_appview.py). The targets are tracked as the publisher tracks
them, all in the fresh tier, so one planner tick queues every one of them.

Printed: calls per platform against the floor ceil(N / batch), counted at each server; DynamoDB
calls per snapshot written during the refresh (target: 1 write, the conditional PutItem; reads are
the BatchGet of the slot's snapshots already taken, and the metered platform's budget adds one
UpdateItem per 100 reads); and the time from the planner's tick to the last snapshot.

    .venv/bin/python bench/analytics.py [--targets 10000] [--json]

This prints figures and always exits 0 once it has them.
"""

from __future__ import annotations

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tools.emulated_aws import use_fake_credentials  # noqa: E402

use_fake_credentials(os.environ)
os.environ.update(
    {"POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_LOG_LEVEL": "WARNING", "POWERTOOLS_TRACE_DISABLED": "true"}
)

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402

from moto import mock_aws  # noqa: E402

from chalicelib import container  # noqa: E402
from chalicelib.clock import ManualClock  # noqa: E402
from chalicelib.data.analytics import AnalyticsStore  # noqa: E402
from chalicelib.data.integrations import IntegrationStore  # noqa: E402
from chalicelib.data.sessions import botocore_session  # noqa: E402
from chalicelib.domain.analytics.model import Tracked  # noqa: E402
from chalicelib.domain.analytics.tiers import TIERS  # noqa: E402
from chalicelib.domain.records import Integration  # noqa: E402
from chalicelib.ids import uuid7  # noqa: E402
from chalicelib.settings import Settings  # noqa: E402
from tests.integration.lambda_runtime import LambdaRuntime  # noqa: E402
from tests.platform_servers.bluesky_appview import AppViewServer  # noqa: E402
from tests.platform_servers.mastodon_media import TOKEN as MASTODON_TOKEN  # noqa: E402
from tests.platform_servers.mastodon_media import MediaProcessingServer  # noqa: E402
from tests.platform_servers.x_api import XApiServer  # noqa: E402
from tools.provision import provision, put_app_credentials  # noqa: E402

X_USER = "1460000000000000001"
SHARES = {"twitter": 0.4, "bluesky": 0.3, "mastodon": 0.3}
BATCH = {"twitter": 100, "bluesky": 25, "mastodon": 20}


class DynamoCalls:
    """DynamoDB calls by operation, from botocore events on the session every client shares."""

    def __init__(self):
        self.counts: Counter = Counter()
        self.on = False

    def install(self, session) -> None:
        session.register("before-call.dynamodb", self._count)

    def _count(self, model, **_):
        if self.on:
            self.counts[model.name] += 1


def account(services, workspace_id, clock, platform, username, credentials) -> Integration:
    now = clock.now()
    integration = Integration(
        id=uuid7(clock),
        workspace_id=workspace_id,
        mode="live",
        platform=platform,
        username=username,
        display_name=username,
        status="active",
        created_at=now,
        updated_at=now,
    )
    sealed = services.credentials.seal(workspace_id, "live", integration.id, credentials)
    IntegrationStore().upsert(integration, sealed, replaces_version=None)
    return integration


def run(total: int) -> dict:
    clock = ManualClock(dt.datetime.now(dt.UTC))
    counts = {platform: int(total * share) for platform, share in SHARES.items()}
    counts["twitter"] += total - sum(counts.values())
    with XApiServer() as x, MediaProcessingServer() as mastodon, AppViewServer() as appview, mock_aws():
        provisioned = provision("openpost-bench")
        put_app_credentials(provisioned, "twitter", {"client_id": x.client_id, "client_secret": x.client_secret})
        settings = Settings.from_environ(provisioned.environment()).model_copy(
            update={
                "x_api_url": x.url,
                "bluesky_appview_url": appview.url,
                "allow_loopback_platforms": True,
                "metered_reads_per_month": 1_000_000,
            }
        )
        services = container.Services(settings, clock=clock)
        container.use(services)
        calls = DynamoCalls()
        calls.install(botocore_session())
        workspace = services.workspaces.create("Bench")
        workspace_id = workspace.workspace.id
        x.add_user(id=X_USER, username="openpost", name="openpost")
        tokens = x.issue_tokens(X_USER)
        tokens["expires_at"] = int(time.time()) + tokens.pop("expires_in")
        accounts = {
            "twitter": account(services, workspace_id, clock, "twitter", "openpost", tokens),
            "mastodon": account(
                services,
                workspace_id,
                clock,
                "mastodon",
                "openpost",
                {"instance_url": mastodon.base_url, "access_token": MASTODON_TOKEN},
            ),
            "bluesky": account(
                services, workspace_id, clock, "bluesky", "openpost.test", {"identifier": "openpost.test"}
            ),
        }
        ids = {
            "twitter": [x.seed_tweet(X_USER, age_seconds=600) for _ in range(counts["twitter"])],
            "mastodon": [mastodon.seed_status() for _ in range(counts["mastodon"])],
            "bluesky": [f"at://did:plc:bench/app.bsky.feed.post/3l{index:011d}" for index in range(counts["bluesky"])],
        }
        for index, uri in enumerate(ids["bluesky"]):
            appview.add_post(uri, likeCount=index % 97, repostCount=1, replyCount=2)
        published = TIERS[0].slot(clock.now()) - dt.timedelta(minutes=5)
        store = AnalyticsStore()
        for platform, platform_ids in ids.items():
            for platform_post_id in platform_ids:
                store.track(
                    Tracked(
                        workspace_id=workspace_id,
                        mode="live",
                        post_id=uuid7(clock),
                        target_id=uuid7(clock),
                        integration_id=accounts[platform].id,
                        platform=platform,
                        platform_post_id=platform_post_id,
                        published_at=published,
                        username="openpost",
                    )
                )
        runtime = LambdaRuntime(provisioned)
        calls.on = True
        started = time.perf_counter()
        runtime.tick("analytics_planner", clock.now())
        planned = dict(calls.counts)
        runtime.drain("analytics", rounds=10_000)
        elapsed = time.perf_counter() - started
        calls.on = False
        refresh_calls = calls.counts - Counter(planned)
        snapshots = sum(1 for _ in store.all_since(f"{workspace_id}#live", clock.now() - dt.timedelta(days=1), None))
        container.use(None)
        made = {
            "twitter": len(x.lookups),
            "bluesky": len(appview.calls),
            "mastodon": mastodon.calls.count("statuses") + mastodon.calls.count("status_read"),
        }
    writes = sum(refresh_calls[op] for op in ("PutItem", "UpdateItem", "BatchWriteItem", "TransactWriteItems"))
    return {
        "targets": total,
        "per_platform": {
            platform: {
                "targets": counts[platform],
                "calls": made[platform],
                "floor": math.ceil(counts[platform] / BATCH[platform]),
            }
            for platform in counts
        },
        "snapshots": snapshots,
        "planner_dynamodb_calls": planned,
        "refresh_dynamodb_calls": dict(refresh_calls),
        "writes_per_snapshot": round(writes / max(1, snapshots), 3),
        "snapshot_puts_per_snapshot": round(refresh_calls["PutItem"] / max(1, snapshots), 3),
        "seconds": round(elapsed, 1),
        "snapshots_per_second": round(snapshots / elapsed, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--targets", type=int, default=10_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = run(args.targets)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{result['targets']} published targets, one planner tick, refresh drained\n")
    print(f"{'platform':<10} {'targets':>8} {'calls':>7} {'floor':>7}")
    for platform, row in result["per_platform"].items():
        print(f"{platform:<10} {row['targets']:>8} {row['calls']:>7} {row['floor']:>7}")
    print(f"\nsnapshots written: {result['snapshots']}")
    print(f"planner DynamoDB calls: {result['planner_dynamodb_calls']}")
    print(f"refresh DynamoDB calls: {result['refresh_dynamodb_calls']}")
    print(
        f"writes per snapshot: {result['writes_per_snapshot']} (snapshot puts: {result['snapshot_puts_per_snapshot']})"
    )
    print(f"time, tick to last snapshot: {result['seconds']} s ({result['snapshots_per_second']} snapshots/s)")


if __name__ == "__main__":
    main()
