"""What tells the operator a deployment needs them: alarms on one SNS topic, and a dashboard.

Each alarm is named ``<stack>-<what>`` and its description says what it means and where the
runbook is (docs/operations.md, which also says why each threshold is what it is). The metrics in
the ``openpost`` namespace are the ones the handlers print as EMF (chalicelib/measures.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from chalicelib.measures import NAMESPACE, SERVICE
from infrastructure import catalog

RUNBOOK = "Runbook: docs/operations.md"
LATENESS_P99_SECONDS = 5
LATENESS_MINUTES = 5
DISPATCHER_SILENT_MINUTES = 3
# The functions whose failure delays or loses what users asked for.
WATCHED_FUNCTIONS = ("publisher", "dispatcher", "webhooks")
FUNCTION_ERRORS_IN_5_MINUTES = 3


@dataclass(frozen=True)
class Monitoring:
    topic: sns.Topic
    alarms: dict[str, cloudwatch.Alarm]
    dashboard: cloudwatch.Dashboard


def _ours(name: str, statistic: str = "Sum", period: int = 5, **dimensions: str) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace=NAMESPACE,
        metric_name=name,
        statistic=statistic,
        period=Duration.minutes(period),
        dimensions_map={"service": SERVICE, **dimensions},
    )


def _lambda(function_name: str, name: str, statistic: str = "Sum", period: int = 5) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace="AWS/Lambda",
        metric_name=name,
        statistic=statistic,
        period=Duration.minutes(period),
        dimensions_map={"FunctionName": function_name},
    )


def _by_platform(name: str, label: str) -> cloudwatch.MathExpression:
    """One line per platform that reported, without naming any (platforms come and go)."""
    return cloudwatch.MathExpression(
        expression=f"SEARCH('{{{NAMESPACE},platform,service}} MetricName=\"{name}\"', 'Sum', 300)",
        label=label,
        using_metrics={},
        period=Duration.minutes(5),
    )


def add_monitoring(
    scope: Construct,
    prefix: str,
    function_names: Mapping[str, str],
    queues: Mapping[str, sqs.Queue],
    dead_letter_queues: Mapping[str, sqs.Queue],
    alarm_email: str | None = None,
) -> Monitoring:
    topic = sns.Topic(scope, "AlarmTopic", topic_name=f"{prefix}-alarms", display_name=f"openpost {prefix} alarms")
    if alarm_email:
        topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
    notify = actions.SnsAction(topic)
    alarms: dict[str, cloudwatch.Alarm] = {}

    def alarm(key: str, metric, threshold: float, comparison, description: str, periods: int = 1, missing=None):
        created = cloudwatch.Alarm(
            scope,
            f"{key}-alarm",
            alarm_name=f"{prefix}-{key}",
            alarm_description=f"{description} {RUNBOOK}#{key}",
            metric=metric,
            threshold=threshold,
            comparison_operator=comparison,
            evaluation_periods=periods,
            datapoints_to_alarm=periods,
            treat_missing_data=missing or cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        created.add_alarm_action(notify)
        created.add_ok_action(notify)
        alarms[key] = created

    above = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
    for name, dead_letters in dead_letter_queues.items():
        alarm(
            f"{name}-dead-letters",
            dead_letters.metric_approximate_number_of_messages_visible(statistic="Maximum", period=Duration.minutes(5)),
            0,
            above,
            f"A message reached the {name} queue's dead-letter queue: its work kept failing and was set aside.",
        )
    alarm(
        "publish-lateness",
        _ours("PublishLateness", statistic="p99", period=1),
        LATENESS_P99_SECONDS,
        above,
        f"Scheduled posts go out late: the 99th percentile of lateness stayed above {LATENESS_P99_SECONDS} s "
        f"for {LATENESS_MINUTES} minutes.",
        periods=LATENESS_MINUTES,
    )
    for name in WATCHED_FUNCTIONS:
        alarm(
            f"{name}-errors",
            _lambda(function_names[name], "Errors"),
            FUNCTION_ERRORS_IN_5_MINUTES - 1,
            above,
            f"The {name} function crashed or timed out {FUNCTION_ERRORS_IN_5_MINUTES} times or more in 5 minutes.",
        )
        alarm(
            f"{name}-throttles",
            _lambda(function_names[name], "Throttles"),
            0,
            above,
            f"Lambda refused to run the {name} function (throttled): the account's concurrency is spent.",
        )
    alarm(
        "outcome-unknown",
        _ours("TargetFailures", code="outcome_unknown"),
        0,
        above,
        "A post target failed as outcome_unknown: it may or may not be on the platform; its user must check.",
    )
    alarm(
        "webhook-endpoint-disabled",
        _ours("WebhookEndpointsDisabled"),
        0,
        above,
        "A webhook endpoint was disabled (it answered 410, or failed every delivery for 5 days).",
    )
    alarm(
        "dispatcher-silent",
        _lambda(function_names["dispatcher"], "Invocations", period=1),
        1,
        cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        f"The dispatcher has not run for {DISPATCHER_SILENT_MINUTES} minutes: no scheduled post is being queued.",
        periods=DISPATCHER_SILENT_MINUTES,
        missing=cloudwatch.TreatMissingData.BREACHING,
    )
    dashboard = _dashboard(scope, prefix, function_names, queues, dead_letter_queues, alarms)
    return Monitoring(topic, alarms, dashboard)


def _dashboard(scope, prefix, function_names, queues, dead_letter_queues, alarms) -> cloudwatch.Dashboard:
    width = 12
    percentiles = [_ours("PublishLateness", statistic=p, period=5) for p in ("p50", "p90", "p99", "Maximum")]
    workers = [spec.name for spec in catalog.FUNCTIONS]
    rows = [
        [
            cloudwatch.GraphWidget(
                title="Targets published per platform",
                left=[_by_platform("TargetsPublished", "published")],
                width=width,
            ),
            cloudwatch.GraphWidget(
                title="Targets failed per platform", left=[_by_platform("TargetsFailed", "failed")], width=width
            ),
        ],
        [
            cloudwatch.GraphWidget(
                title="Failure codes",
                left=[
                    cloudwatch.MathExpression(
                        expression=f"SEARCH('{{{NAMESPACE},code,service}} MetricName=\"TargetFailures\"', 'Sum', 300)",
                        label="failures",
                        using_metrics={},
                        period=Duration.minutes(5),
                    )
                ],
                width=width,
            ),
            cloudwatch.GraphWidget(
                title="Publish lateness (s): p50, p90, p99, max",
                left=percentiles,
                left_annotations=[cloudwatch.HorizontalAnnotation(value=LATENESS_P99_SECONDS, label="alarm (p99)")],
                width=width,
            ),
        ],
        [
            cloudwatch.GraphWidget(
                title="Queue depth (visible messages)",
                left=[
                    queue.metric_approximate_number_of_messages_visible(label=name, period=Duration.minutes(1))
                    for name, queue in {**queues, **{f"{n}-dlq": q for n, q in dead_letter_queues.items()}}.items()
                ],
                width=width,
            ),
            cloudwatch.GraphWidget(
                title="Oldest message age (s)",
                left=[
                    queue.metric_approximate_age_of_oldest_message(
                        label=name, statistic="Maximum", period=Duration.minutes(1)
                    )
                    for name, queue in queues.items()
                ],
                width=width,
            ),
        ],
        [
            cloudwatch.GraphWidget(
                title="Function duration p99 (ms)",
                left=[
                    _lambda(function_names[name], "Duration", statistic="p99").with_(label=name)
                    for name in ["api", *workers]
                ],
                width=width,
            ),
            cloudwatch.GraphWidget(
                title="Function errors and throttles",
                left=[_lambda(function_names[name], "Errors").with_(label=name) for name in ["api", *workers]],
                right=[
                    _lambda(function_names[name], "Throttles").with_(label=f"{name} throttled")
                    for name in ["api", *workers]
                ],
                width=width,
            ),
        ],
        [
            cloudwatch.GraphWidget(
                title="Webhooks",
                left=[
                    _ours("WebhookAttemptsFailed").with_(label="attempts failed"),
                    _ours("WebhookDeliveriesFailed").with_(label="deliveries failed"),
                    _ours("WebhookEndpointsDisabled").with_(label="endpoints disabled"),
                    _ours("WebhookDeadLettersSettled").with_(label="dead letters settled"),
                ],
                width=width,
            ),
            cloudwatch.GraphWidget(
                title="Analytics: refresh lag (s) and platform calls",
                left=[
                    _ours("AnalyticsRefreshLag", statistic="p90").with_(label="lag p90"),
                    _ours("AnalyticsRefreshLag", statistic="Maximum").with_(label="lag max"),
                ],
                right=[_by_platform("AnalyticsPlatformCalls", "calls")],
                width=width,
            ),
        ],
        [
            cloudwatch.GraphWidget(
                title="Engine housekeeping and the API",
                left=[
                    _ours("PublishRetries").with_(label="retries"),
                    _ours("StuckTargetsRequeued").with_(label="stuck targets queued again"),
                    _ours("PublishDeadLettersSettled").with_(label="publish dead letters settled"),
                ],
                right=[_ours("RateLimitedRequests").with_(label="rate-limited requests")],
                width=width,
            ),
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(alarms.values()), width=width),
        ],
    ]
    dashboard = cloudwatch.Dashboard(scope, "Dashboard", dashboard_name=f"{prefix}-operations")
    for row in rows:
        dashboard.add_widgets(*row)
    return dashboard
