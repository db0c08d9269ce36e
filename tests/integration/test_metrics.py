"""The metrics an operator alarms on, read as CloudWatch would: the embedded-metric-format lines the
very handlers Lambda runs print at the end of each invocation (docs/operations.md lists them)."""

from __future__ import annotations

import json

import pytest

from tests.integration.test_publishing import SOON, create, publish_now, read


@pytest.fixture
def key(workspace):
    return workspace.test_key


@pytest.fixture
def emf(monkeypatch, capsys):
    """What the handlers print as EMF, read back as (name, unit, dimensions, values) per metric."""
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    capsys.readouterr()

    def read_back(name: str | None = None) -> list[tuple[str, str, dict, list]]:
        found = []
        for line in capsys.readouterr().out.splitlines():
            if not line.startswith('{"_aws"'):
                continue
            blob = json.loads(line)
            for directive in blob["_aws"]["CloudWatchMetrics"]:
                assert directive["Namespace"] == "openpost"
                (dimension_names,) = directive["Dimensions"]
                dimensions = {d: blob[d] for d in dimension_names}
                # Every metric carries service=openpost (the alarms match it); the rest is shown.
                assert dimensions.pop("service") == "openpost", blob
                for metric in directive["Metrics"]:
                    values = blob[metric["Name"]]
                    values = values if isinstance(values, list) else [values]
                    found.append((metric["Name"], metric["Unit"], dimensions, values))
        return [item for item in found if name is None or item[0] == name]

    return read_back


def test_a_publish_counts_a_target_published_per_platform(api, key, runtime, emf):
    publish_now(api, key, platforms=["twitter", "bluesky"])
    runtime.drain()
    published = emf("TargetsPublished")
    assert sorted((d["platform"], sum(v)) for _, _, d, v in published) == [("bluesky", 1.0), ("twitter", 1.0)]
    assert {unit for _, unit, _, _ in published} == {"Count"}
    assert not emf("PublishLateness")  # published now: there was no time it was late for


def test_a_failure_counts_the_platform_and_the_code(api, key, runtime, emf):
    post_id = publish_now(api, key, platforms=["twitter"], content="[sandbox:reject] Hello")
    runtime.drain()
    code = read(api, key, post_id)["post_targets"][0]["error"]["code"]
    metrics = emf()
    assert ("TargetsFailed", "Count", {"platform": "twitter"}, [1.0]) in metrics
    assert ("TargetFailures", "Count", {"code": code}, [1.0]) in metrics
    assert not [m for m in metrics if m[0] == "TargetsPublished"]


def test_outcome_unknown_is_a_failure_code_of_its_own(api, key, runtime, emf):
    publish_now(api, key, content="[sandbox:timeout-after-accept] Hello")
    runtime.drain()
    assert ("TargetFailures", "Count", {"code": "outcome_unknown"}, [1.0]) in emf()


def test_lateness_is_published_at_minus_scheduled_at(api, key, runtime, clock, emf):
    create(api, key, platforms=["bluesky"], schedule_at=SOON)  # 12:02:00
    clock.advance(seconds=127)  # the dispatcher ran 7 s late
    runtime.tick("dispatcher", clock.now())
    runtime.drain()
    # 7 s, plus the sandbox's simulated platform latency (20-80 ms), which passes on the same clock.
    ((name, unit, dimensions, (late,)),) = emf("PublishLateness")
    assert (name, unit, dimensions) == ("PublishLateness", "Seconds", {}) and 7.0 <= late <= 7.1


def test_a_retry_is_counted_per_platform(api, key, runtime, emf):
    publish_now(api, key, platforms=["mastodon"], content="[sandbox:500x1] Hello")
    runtime.deliver()
    runtime.time_passes()
    runtime.drain()
    metrics = emf()
    assert ("PublishRetries", "Count", {"platform": "mastodon"}, [1.0]) in metrics
    assert ("TargetsPublished", "Count", {"platform": "mastodon"}, [1.0]) in metrics


def test_the_reconciler_reports_even_when_nothing_was_left_behind(runtime, clock, emf):
    runtime.tick("reconciler", clock.now())
    counted = {name: values for name, _, _, values in emf()}
    assert counted["StuckTargetsRequeued"] == [0.0]
    assert counted["PublishDeadLettersSettled"] == [0.0]
    assert counted["WebhookDeadLettersSettled"] == [0.0]


def test_an_analytics_refresh_reports_its_lag_and_each_platform_call(api, key, runtime, emf):
    post_id = publish_now(api, key, platforms=["bluesky"])
    runtime.drain()
    assert api.post(f"/v1/analytics/post/{post_id}/refresh", key).status == 202
    emf()
    runtime.drain("analytics")
    metrics = emf()
    assert ("AnalyticsPlatformCalls", "Count", {"platform": "bluesky"}, [1.0]) in metrics
    (lag,) = [m for m in metrics if m[0] == "AnalyticsRefreshLag"]
    assert lag[1:3] == ("Seconds", {}) and lag[3][0] >= 0


def test_a_gone_webhook_endpoint_counts_a_failed_delivery_and_a_disabled_endpoint(
    api, key, aws, clock, workspace, runtime, emf
):
    from tests.conftest import services_with
    from tests.integration.test_webhooks import emit, register
    from tests.webhook_receiver import WebhookReceiver

    with services_with(aws, clock, allow_local_webhooks=True) as hooks, WebhookReceiver() as receiver:
        register(api, key, receiver, "/gone")
        receiver.script("/gone", always=410)
        emit(hooks, workspace, "evt_410")
        runtime.drain("events", 20)
    counted = {name: sum(values) for name, _, dimensions, values in emf() if not dimensions}
    assert counted["WebhookAttemptsFailed"] == 1
    assert counted["WebhookDeliveriesFailed"] == 1
    assert counted["WebhookEndpointsDisabled"] == 1


def test_a_rate_limited_request_is_counted(api, aws, clock, services, key, emf):
    from tests.conftest import services_with
    from tests.integration.test_rate_limits import SMALL

    with services_with(aws, clock, rate_limits=SMALL):
        answers = [api.get("/v1/integrations", key).status for _ in range(6)]
    assert answers == [200] * 5 + [429]
    assert emf("RateLimitedRequests") == [("RateLimitedRequests", "Count", {}, [1.0])]
