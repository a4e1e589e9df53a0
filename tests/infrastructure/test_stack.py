"""Given the synthesized template, what a platform engineer relies on is there and tight."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk.assertions import Match, Template

from infra.settings import StackSettings
from tests.infrastructure.conftest import synthesize


def _only(template: Template, resource_type: str) -> dict[str, Any]:
    """The one resource of a type on the event path; the sweeper's own are left out."""
    resources = {
        logical_id: resource
        for logical_id, resource in template.find_resources(resource_type).items()
        if not logical_id.startswith("Sweep")
    }
    assert len(resources) == 1, f"expected one {resource_type}"
    return next(iter(resources.values()))


def _logical_id(template: Template, resource_type: str, **properties: Any) -> str:
    found = template.find_resources(resource_type, {"Properties": properties})
    assert len(found) == 1
    return next(iter(found))


def test_rule_matches_exactly_failed_and_available_image_state_changes(
    template: Template,
) -> None:
    rule = _only(template, "AWS::Events::Rule")

    assert rule["Properties"]["EventPattern"] == {
        "source": ["aws.imagebuilder"],
        "detail-type": ["EC2 Image Builder Image State Change"],
        "detail": {"state": {"status": ["FAILED", "AVAILABLE"]}},
    }
    assert rule["Properties"]["State"] == "ENABLED"
    assert "EventBusName" not in rule["Properties"]


def test_rule_delivers_to_the_queue_with_its_own_dead_letter_queue(template: Template) -> None:
    (target,) = _only(template, "AWS::Events::Rule")["Properties"]["Targets"]
    queue_id = _logical_id(
        template, "AWS::SQS::Queue", RedrivePolicy=Match.object_like({"maxReceiveCount": 5})
    )

    assert target["Arn"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185}
    delivery_dlq = target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
    assert delivery_dlq != queue_id
    assert template.to_json()["Resources"][delivery_dlq]["Type"] == "AWS::SQS::Queue"


def test_queue_redrives_to_a_dead_letter_queue_kept_14_days(template: Template) -> None:
    queue = template.find_resources(
        "AWS::SQS::Queue", {"Properties": {"RedrivePolicy": Match.any_value()}}
    )
    (properties,) = [resource["Properties"] for resource in queue.values()]
    dlq_id = properties["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
    dlq = template.to_json()["Resources"][dlq_id]["Properties"]

    assert properties["RedrivePolicy"]["maxReceiveCount"] == 5
    assert dlq["MessageRetentionPeriod"] == 14 * 24 * 3600
    assert (
        properties["VisibilityTimeout"]
        >= 6 * _only(template, "AWS::Lambda::Function")["Properties"]["Timeout"]
    )


def test_every_queue_is_encrypted_and_refuses_plain_http(template: Template) -> None:
    queues = template.find_resources("AWS::SQS::Queue")
    policies = template.find_resources("AWS::SQS::QueuePolicy")

    assert len(queues) == 3
    for queue in queues.values():
        assert queue["Properties"]["SqsManagedSseEnabled"] is True
    secured = set()
    for policy in policies.values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}:
                assert statement["Effect"] == "Deny"
                secured.update(queue["Ref"] for queue in policy["Properties"]["Queues"])
    assert secured == set(queues)


def test_function_reads_the_queue_with_partial_failures_and_bounded_concurrency(
    template: Template,
) -> None:
    mapping = _only(template, "AWS::Lambda::EventSourceMapping")["Properties"]

    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": 2}
    assert mapping["BatchSize"] == 5


def test_function_runs_the_latest_python_on_arm64_with_tracing(template: Template) -> None:
    function = _only(template, "AWS::Lambda::Function")["Properties"]

    assert function["Runtime"] == "python3.14"
    assert function["Architectures"] == ["arm64"]
    assert function["Handler"] == "image_retrier.handler.lambda_handler"
    assert function["TracingConfig"] == {"Mode": "Active"}
    assert function["LoggingConfig"]["LogGroup"] == {"Ref": _logical_id_of_log_group(template)}


def _logical_id_of_log_group(template: Template) -> str:
    (logical_id,) = [
        logical_id
        for logical_id in template.find_resources("AWS::Logs::LogGroup")
        if not logical_id.startswith("Sweep")
    ]
    return logical_id


def test_log_group_keeps_logs_for_the_configured_days(template: Template) -> None:
    assert _only(template, "AWS::Logs::LogGroup")["Properties"]["RetentionInDays"] == 30


def _statements(template: Template) -> list[dict[str, Any]]:
    policy = _only(template, "AWS::IAM::Policy")
    return policy["Properties"]["PolicyDocument"]["Statement"]  # type: ignore[no-any-return]


def test_image_builder_permissions_are_scoped_to_images_in_any_partition(
    template: Template,
) -> None:
    (statement,) = [s for s in _statements(template) if s.get("Sid") == "InspectAndRetryImages"]

    assert sorted(statement["Action"]) == ["imagebuilder:GetImage", "imagebuilder:RetryImage"]
    assert statement["Resource"] == {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":imagebuilder:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                ":image/*",
            ],
        ]
    }


def test_function_may_use_the_ledger_topic_and_its_own_queue_and_nothing_else(
    template: Template,
) -> None:
    by_sid = {s.get("Sid"): s for s in _statements(template)}
    table_id = next(iter(template.find_resources("AWS::DynamoDB::GlobalTable")))
    topic_id = next(iter(template.find_resources("AWS::SNS::Topic")))
    key_id = next(iter(template.find_resources("AWS::KMS::Key")))

    assert by_sid["UseAttemptLedger"]["Action"] == ["dynamodb:GetItem", "dynamodb:UpdateItem"]
    assert by_sid["UseAttemptLedger"]["Resource"] == {"Fn::GetAtt": [table_id, "Arn"]}
    assert by_sid["Notify"]["Action"] == "sns:Publish"
    assert by_sid["Notify"]["Resource"] == {"Ref": topic_id}
    assert by_sid["EncryptNotifications"]["Resource"] == {"Fn::GetAtt": [key_id, "Arn"]}
    send = [s for s in _statements(template) if "sqs:SendMessage" in s["Action"]]
    assert len(send) == 2


def test_ledger_is_on_demand_recoverable_encrypted_and_expires_old_items(
    template: Template,
) -> None:
    table = _only(template, "AWS::DynamoDB::GlobalTable")

    properties = table["Properties"]
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["KeySchema"] == [
        {"AttributeName": "image_build_version_arn", "KeyType": "HASH"}
    ]
    assert properties["TimeToLiveSpecification"] == {
        "AttributeName": "expires_at",
        "Enabled": True,
    }
    assert properties["SSESpecification"]["SSEEnabled"] is True
    (replica,) = properties["Replicas"]
    assert replica["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["DeletionPolicy"] == "Retain"


def test_notification_topic_is_encrypted_with_a_rotating_key_and_tls_only(
    template: Template,
) -> None:
    topic = _only(template, "AWS::SNS::Topic")["Properties"]
    key_id = next(iter(template.find_resources("AWS::KMS::Key")))

    assert topic["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert _only(template, "AWS::KMS::Key")["Properties"]["EnableKeyRotation"] is True
    (policy,) = template.find_resources("AWS::SNS::TopicPolicy").values()
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert template.find_resources("AWS::SNS::Subscription") == {}


def test_email_subscriptions_come_from_context() -> None:
    template = synthesize(StackSettings(notification_emails=("a@example.com", "b@example.com")))

    subscriptions = template.find_resources("AWS::SNS::Subscription")
    assert sorted(s["Properties"]["Endpoint"] for s in subscriptions.values()) == [
        "a@example.com",
        "b@example.com",
    ]
    assert {s["Properties"]["Protocol"] for s in subscriptions.values()} == {"email"}


def test_no_statement_grants_a_wildcard_action(template: Template) -> None:
    role = _only(template, "AWS::IAM::Role")["Properties"]
    assert "ManagedPolicyArns" not in role
    for statement in _statements(template):
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        assert all("*" not in action for action in actions), statement
        if statement["Resource"] == "*":
            assert all(action.startswith("xray:") for action in actions), statement


# The longest each deploy-time value can be: a queue URL with an 80-character name, a generated
# table name, a topic ARN with a generated name.
DEPLOY_TIME_VALUE_BYTES = {
    "QUEUE_URL": 140,
    "DEAD_LETTER_QUEUE_URL": 140,
    "LEDGER_TABLE_NAME": 100,
    "NOTIFICATION_TOPIC_ARN": 150,
}


def test_context_values_at_their_size_limit_leave_each_environment_within_4_kb() -> None:
    patterns = tuple(f"Policy{number:03d}Denied by our organisation" for number in range(200))

    def context_bytes(count: int) -> int:
        settings = StackSettings(permanent_patterns=patterns[:count])
        return sum(len(value) for value in settings.context_environment.values())

    most = max(count for count in range(1, len(patterns)) if context_bytes(count) <= 3000)
    template = synthesize(StackSettings.from_context({"permanentPatterns": list(patterns[:most])}))

    for function in template.find_resources("AWS::Lambda::Function").values():
        variables = function["Properties"]["Environment"]["Variables"]
        size = sum(
            len(key) + (len(value) if isinstance(value, str) else DEPLOY_TIME_VALUE_BYTES[key])
            for key, value in variables.items()
        )
        assert 3000 < size <= 4096


def test_context_values_reach_the_function_environment() -> None:
    settings = StackSettings(
        max_attempts=5,
        dry_run=True,
        retry_stages=("DISTRIBUTING", "TESTING"),
        log_level="DEBUG",
        log_retention_days=90,
        max_concurrency=7,
        event_bus_name="image-events",
        retry_delay_seconds=120,
        backoff_rate=1.5,
        max_retry_delay_seconds=900,
        ledger_ttl_days=30,
        notify_on_recovery=True,
        unknown_causes="notify",
        permanent_patterns=("MyOrgPolicyDenied",),
        exclude_tags=("stage=experimental",),
        opt_out_tag="auto-retry=off",
    )
    template = synthesize(settings)

    variables = _only(template, "AWS::Lambda::Function")["Properties"]["Environment"]["Variables"]
    assert {key: variables[key] for key in ("MAX_ATTEMPTS", "DRY_RUN", "RETRY_STAGES")} == {
        "MAX_ATTEMPTS": "5",
        "DRY_RUN": "true",
        "RETRY_STAGES": "DISTRIBUTING,TESTING",
    }
    assert variables["POWERTOOLS_LOG_LEVEL"] == "DEBUG"
    assert {
        key: variables[key]
        for key in (
            "RETRY_DELAY_SECONDS",
            "BACKOFF_RATE",
            "MAX_RETRY_DELAY_SECONDS",
            "LEDGER_TTL_DAYS",
            "NOTIFY_ON_RECOVERY",
        )
    } == {
        "RETRY_DELAY_SECONDS": "120",
        "BACKOFF_RATE": "1.5",
        "MAX_RETRY_DELAY_SECONDS": "900",
        "LEDGER_TTL_DAYS": "30",
        "NOTIFY_ON_RECOVERY": "true",
    }
    assert variables["UNKNOWN_CAUSES"] == "notify"
    assert json.loads(variables["PERMANENT_PATTERNS"]) == ["MyOrgPolicyDenied"]
    scope = json.loads(variables["SCOPE"])
    assert (scope["exclude_tags"], scope["opt_out_tag"]) == (
        ["stage=experimental"],
        "auto-retry=off",
    )
    assert _only(template, "AWS::Logs::LogGroup")["Properties"]["RetentionInDays"] == 90
    mapping = _only(template, "AWS::Lambda::EventSourceMapping")["Properties"]
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": 7}
    rule = _only(template, "AWS::Events::Rule")["Properties"]
    assert rule["EventBusName"] == "image-events"


def test_template_has_no_account_or_region_baked_in(template: Template) -> None:
    text = json.dumps(template.to_json())
    assert "111122223333" not in text
    assert "us-east-1" not in text


def test_stack_for_a_concrete_account_and_region_also_passes_cdk_nag() -> None:
    # The CDK CLI passes the account and region of the caller's credentials to the app.
    template = synthesize(account="111122223333", region="eu-west-1")

    (statement,) = [s for s in _statements(template) if s.get("Sid") == "InspectAndRetryImages"]
    assert statement["Resource"] == {
        "Fn::Join": [
            "",
            ["arn:", {"Ref": "AWS::Partition"}, ":imagebuilder:eu-west-1:111122223333:image/*"],
        ]
    }


def test_sweeper_runs_hourly_on_its_own_function_with_list_permissions(
    template: Template,
) -> None:
    functions = template.find_resources("AWS::Lambda::Function")
    (sweeper,) = [
        f["Properties"]
        for f in functions.values()
        if f["Properties"]["Handler"] == "image_retrier.sweeper_handler.lambda_handler"
    ]
    schedule = template.find_resources(
        "AWS::Events::Rule", {"Properties": {"ScheduleExpression": "rate(1 hour)"}}
    )
    policies = template.find_resources("AWS::IAM::Policy")
    actions = {
        action
        for policy in policies.values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        for action in (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
    }

    assert sweeper["Environment"]["Variables"]["SWEEP_LOOK_BACK_HOURS"] == "24"
    assert sweeper["Timeout"] == 300
    assert len(schedule) == 1
    assert {"imagebuilder:ListImagePipelines", "imagebuilder:ListImagePipelineImages"} <= actions
    assert len(template.find_resources("AWS::Lambda::EventSourceMapping")) == 1


def test_sweeper_can_be_switched_off() -> None:
    template = synthesize(StackSettings(sweeper_enabled=False))

    handlers = [
        f["Properties"]["Handler"]
        for f in template.find_resources("AWS::Lambda::Function").values()
    ]
    assert handlers == ["image_retrier.handler.lambda_handler"]
    assert (
        template.find_resources(
            "AWS::Events::Rule", {"Properties": {"ScheduleExpression": Match.any_value()}}
        )
        == {}
    )
