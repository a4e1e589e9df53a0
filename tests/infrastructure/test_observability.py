"""Given the synthesized template, every alarm watches the right metric at its threshold and
tells the notification topic, and the dashboard shows what operators look for."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Template

from infra.settings import StackSettings
from tests.infrastructure.conftest import synthesize


def _alarms(template: Template) -> dict[str, dict[str, Any]]:
    alarms = template.find_resources("AWS::CloudWatch::Alarm")
    return {
        alarm["Properties"].get("MetricName", ""): alarm["Properties"] for alarm in alarms.values()
    }


def _topic(template: Template) -> dict[str, str]:
    return {"Ref": next(iter(template.find_resources("AWS::SNS::Topic")))}


@pytest.mark.parametrize(
    ("metric", "namespace", "threshold"),
    [
        ("Errors", "AWS/Lambda", 1),
        ("ImageBuilderThrottled", "ImageRetrier", 20),
        ("GaveUp", "ImageRetrier", 1),
        ("NeedsFix", "ImageRetrier", 1),
        ("ApproximateAgeOfOldestMessage", "AWS/SQS", 3600),
    ],
)
def test_alarm_watches_its_metric_at_its_threshold_and_notifies(
    template: Template, metric: str, namespace: str, threshold: int
) -> None:
    alarm = _alarms(template)[metric]

    assert alarm["Namespace"] == namespace
    assert alarm["Threshold"] == threshold
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["AlarmActions"] == [_topic(template)]
    if namespace == "ImageRetrier":
        assert alarm["Dimensions"] == [{"Name": "service", "Value": "image-retrier"}]


def test_both_dead_letter_queues_have_an_alarm(template: Template) -> None:
    alarms = template.find_resources(
        "AWS::CloudWatch::Alarm",
        {"Properties": {"MetricName": "ApproximateNumberOfMessagesVisible"}},
    )
    dead_letter_queues = {
        queue_id
        for queue_id, queue in template.find_resources("AWS::SQS::Queue").items()
        if "RedrivePolicy" not in queue["Properties"]
    }

    watched = {
        alarm["Properties"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0] for alarm in alarms.values()
    }
    assert watched == dead_letter_queues
    assert all(
        alarm["Properties"]["AlarmActions"] == [_topic(template)] for alarm in alarms.values()
    )


def test_thresholds_come_from_context() -> None:
    template = synthesize(
        StackSettings(
            alarm_throttled_calls=50, alarm_oldest_message_age_seconds=7200, alarm_give_ups=3
        )
    )
    alarms = _alarms(template)

    assert alarms["ImageBuilderThrottled"]["Threshold"] == 50
    assert alarms["ApproximateAgeOfOldestMessage"]["Threshold"] == 7200
    assert alarms["GaveUp"]["Threshold"] == 3


def test_dashboard_shows_retries_recoveries_skips_dead_letters_and_the_function(
    template: Template,
) -> None:
    (dashboard,) = template.find_resources("AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])

    for shown in (
        "RetryRequested",
        "RecoveredAfterRetry",
        "GaveUp",
        "RetryDeferred",
        "Skipped_",
        "ApproximateNumberOfMessagesVisible",
        "Duration",
        "Errors",
    ):
        assert shown in body, shown


def test_cloudwatch_may_use_the_topic_key_to_publish_alarms(template: Template) -> None:
    (key,) = template.find_resources("AWS::KMS::Key").values()
    statements = key["Properties"]["KeyPolicy"]["Statement"]

    (cloudwatch,) = [
        s for s in statements if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    ]
    assert "kms:Decrypt" in cloudwatch["Action"]


def test_a_failing_sweeper_alarms_and_is_not_retried_twice_at_once(template: Template) -> None:
    functions = template.find_resources("AWS::Lambda::Function")
    (sweeper_id,) = [
        logical_id
        for logical_id, function in functions.items()
        if function["Properties"]["Handler"].endswith("sweeper_handler.lambda_handler")
    ]
    alarms = template.find_resources(
        "AWS::CloudWatch::Alarm", {"Properties": {"MetricName": "Errors"}}
    )
    watched = {alarm["Properties"]["Dimensions"][0]["Value"]["Ref"] for alarm in alarms.values()}
    (invoke_config,) = template.find_resources("AWS::Lambda::EventInvokeConfig").values()

    assert sweeper_id in watched
    assert functions[sweeper_id]["Properties"]["ReservedConcurrentExecutions"] == 1
    assert invoke_config["Properties"]["MaximumRetryAttempts"] == 0
    assert invoke_config["Properties"]["FunctionName"] == {"Ref": sweeper_id}
