"""Play the shipped Image Builder events through the synthesized stack, locally.

The rule's pattern, the queue's redrive policy, the ledger's key and the function's
environment come from the synthesized template. Each event is matched with EventBridge's
pattern rules (moto's matcher), sent to an SQS queue (moto), received as the Lambda service
would, and handed to the real handler. Its Image Builder client answers from a fake behind
botocore; DynamoDB, SNS and SQS are moto. Time is simulated: a retry that must wait is put
back on the queue with a delay, and the clock jumps forward by that delay.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
import os
import sys
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from localsim.image_builder_fake import ImageBuilderFake
from localsim.lambda_invocation import LocalLambdaContext

if TYPE_CHECKING:
    from mypy_boto3_sqs.type_defs import MessageTypeDef

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CASES = PROJECT_ROOT / "tests" / "cases"
REGION = "us-east-1"
ACCOUNT = "111122223333"
# Enough for every deferral hop of a scenario; a runaway loop stops here instead of hanging.
MAX_INVOCATIONS_PER_DELIVERY = 50
DECISION_MESSAGES = {"retry decision", "event rejected"}


def event_pattern_matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    """EventBridge's matching rules as moto implements them (its TestEventPattern is a stub)."""
    from moto.events.models import EventPattern

    return bool(EventPattern.load(json.dumps(pattern)).matches_event(event))  # type: ignore[arg-type]


@dataclass
class Decision:
    event_id: str | None
    decision: str
    reason: str | None
    failure_stage: str | None = None
    stage_source: str | None = None
    failure_class: str | None = None
    cause_rules: list[str] | None = None
    attempt: int | None = None
    max_attempts: int | None = None
    client_token: str | None = None
    due_at: str | None = None
    outcome: str | None = None


@dataclass
class ScenarioResult:
    name: str
    image: str
    routed: list[bool] = field(default_factory=list)
    get_image_calls: int = 0
    decisions: list[Decision] = field(default_factory=list)
    retry_image_calls: list[dict[str, Any]] = field(default_factory=list)
    dead_lettered: list[dict[str, str]] = field(default_factory=list)
    notifications: list[str] = field(default_factory=list)
    ledger: dict[str, Any] | None = None
    # Why the scenario could not be played to its end (a case file missing or not JSON).
    error: str | None = None


class CaseError(Exception):
    """A file of tests/cases that the demo cannot read: missing, or not JSON."""


class SimulatedClock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def arrive(self, event_time: datetime) -> None:
        self.now = max(self.now, event_time + timedelta(seconds=1))


class StackTemplate:
    def __init__(self, path: Path) -> None:
        self._resources: dict[str, Any] = json.loads(path.read_text())["Resources"]

    def one(self, resource_type: str, **properties: Any) -> dict[str, Any]:
        found = [
            r
            for r in self._resources.values()
            if r["Type"] == resource_type
            and all(r["Properties"].get(key) == value for key, value in properties.items())
            and ("EventPattern" in r["Properties"] or resource_type != "AWS::Events::Rule")
        ]
        if len(found) != 1:
            raise SystemExit(f"expected one {resource_type} in the template, found {len(found)}")
        return found[0]["Properties"]  # type: ignore[no-any-return]

    @property
    def event_pattern(self) -> dict[str, Any]:
        return self.one("AWS::Events::Rule")["EventPattern"]  # type: ignore[no-any-return]

    @property
    def function_environment(self) -> dict[str, Any]:
        function = self.one("AWS::Lambda::Function", Handler="image_retrier.handler.lambda_handler")
        return function["Environment"]["Variables"]  # type: ignore[no-any-return]

    @property
    def max_receive_count(self) -> int:
        for resource in self._resources.values():
            redrive = resource.get("Properties", {}).get("RedrivePolicy")
            if resource["Type"] == "AWS::SQS::Queue" and redrive:
                return int(redrive["maxReceiveCount"])
        raise SystemExit("no queue with a redrive policy in the template")


class LocalStack:
    """The rule, queues, ledger, topic and function of the template, wired together in moto."""

    def __init__(self, template: StackTemplate) -> None:
        import boto3

        self._template = template
        self._sqs = boto3.client("sqs", region_name=REGION)
        self._dynamodb = boto3.client("dynamodb", region_name=REGION)
        sns = boto3.client("sns", region_name=REGION)

        self.dead_letter_queue_url = self._sqs.create_queue(QueueName="dead-letters")["QueueUrl"]
        redrive = {
            "deadLetterTargetArn": self._queue_arn(self.dead_letter_queue_url),
            "maxReceiveCount": template.max_receive_count,
        }
        self.queue_url = self._sqs.create_queue(
            QueueName="image-events", Attributes={"RedrivePolicy": json.dumps(redrive)}
        )["QueueUrl"]
        self.queue_arn = self._queue_arn(self.queue_url)

        ledger = template.one("AWS::DynamoDB::GlobalTable")
        self.ledger_table = "attempt-ledger"
        self._dynamodb.create_table(
            TableName=self.ledger_table,
            KeySchema=ledger["KeySchema"],
            AttributeDefinitions=ledger["AttributeDefinitions"],
            BillingMode="PAY_PER_REQUEST",
        )
        self._ledger_key = ledger["KeySchema"][0]["AttributeName"]

        topic_arn = sns.create_topic(Name="image-retrier")["TopicArn"]
        self.inbox_url = self._sqs.create_queue(QueueName="notification-inbox")["QueueUrl"]
        sns.subscribe(
            TopicArn=topic_arn,
            Protocol="sqs",
            Endpoint=self._queue_arn(self.inbox_url),
            Attributes={"RawMessageDelivery": "true"},
        )

        self.handler = self._load_handler(topic_arn)
        self.clock = SimulatedClock()
        self.handler.retrier.clock = self.clock
        self.handler.sqs_client.meta.events.register(
            "before-parameter-build.sqs.SendMessage", self._fast_forward
        )
        self.image_builder = ImageBuilderFake()
        self.image_builder.attach(self.handler.image_builder_client)
        self.logs = io.StringIO()
        self.handler.logger.registered_handler.setStream(self.logs)

    def _queue_arn(self, queue_url: str) -> str:
        attributes = self._sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
        return attributes["Attributes"]["QueueArn"]

    def _load_handler(self, topic_arn: str) -> ModuleType:
        environment = {
            key: str(value) for key, value in self._template.function_environment.items()
        }
        environment.update(
            QUEUE_URL=self.queue_url,
            DEAD_LETTER_QUEUE_URL=self.dead_letter_queue_url,
            LEDGER_TABLE_NAME=self.ledger_table,
            NOTIFICATION_TOPIC_ARN=topic_arn,
            POWERTOOLS_TRACE_DISABLED="true",
        )
        os.environ.update(environment)
        # The function's code from lambda/, unless a built asset is on the path already.
        if importlib.util.find_spec("image_retrier") is None:
            sys.path.insert(0, str(PROJECT_ROOT / "lambda"))
        from image_retrier import handler

        return handler

    def _fast_forward(self, params: dict[str, Any], **_: Any) -> None:
        # A deferred retry: instead of waiting DelaySeconds, move the clock on by as much.
        delay = params.pop("DelaySeconds", 0)
        self.clock.now += timedelta(seconds=delay)

    def reset(self, get_image_body: dict[str, Any]) -> None:
        self.image_builder.reset()
        self.image_builder.put_image(get_image_body)
        self.clock.now = datetime.fromisoformat("2026-11-30T00:00:00+00:00")
        for item in self._dynamodb.scan(TableName=self.ledger_table)["Items"]:
            key = {self._ledger_key: item[self._ledger_key]}
            self._dynamodb.delete_item(TableName=self.ledger_table, Key=key)

    def route(self, event: dict[str, Any]) -> bool:
        matched = event_pattern_matches(self._template.event_pattern, event)
        if matched:
            # The clock follows the events' times; an event without a valid one leaves it as it
            # is, and goes on to the handler, which rejects it.
            with contextlib.suppress(KeyError, TypeError, ValueError):
                self.clock.arrive(datetime.fromisoformat(event["time"]))
            self._sqs.send_message(QueueUrl=self.queue_url, MessageBody=json.dumps(event))
        return matched

    def drain(self) -> list[dict[str, Any]]:
        """Invoke the function until the queue is empty, as the event source mapping would."""
        for _ in range(MAX_INVOCATIONS_PER_DELIVERY):
            received = self._sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=10,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
                VisibilityTimeout=0,
            ).get("Messages", [])
            if not received:
                break
            records = [self._lambda_record(message) for message in received]
            with contextlib.redirect_stdout(io.StringIO()):
                response = self.handler.lambda_handler({"Records": records}, LocalLambdaContext())
            failed = {failure["itemIdentifier"] for failure in response["batchItemFailures"]}
            for message in received:
                if message["MessageId"] not in failed:
                    self._sqs.delete_message(
                        QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                    )
        return self._decision_lines()

    def _lambda_record(self, message: MessageTypeDef) -> dict[str, Any]:
        attributes = {
            name: {"stringValue": value.get("StringValue"), "dataType": value["DataType"]}
            for name, value in message.get("MessageAttributes", {}).items()
        }
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": attributes,
            "md5OfBody": message["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queue_arn,
            "awsRegion": REGION,
        }

    def _decision_lines(self) -> list[dict[str, Any]]:
        lines = [json.loads(line) for line in self.logs.getvalue().splitlines() if line.strip()]
        self.logs.seek(0)
        self.logs.truncate()
        return [line for line in lines if line.get("message") in DECISION_MESSAGES]

    def _receive_all(self, queue_url: str) -> list[MessageTypeDef]:
        messages: list[MessageTypeDef] = []
        while batch := self._sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        ).get("Messages", []):
            messages.extend(batch)
            for message in batch:
                self._sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        return messages

    def dead_letters(self) -> list[dict[str, str]]:
        kept: list[dict[str, str]] = []
        for message in self._receive_all(self.dead_letter_queue_url):
            attributes = message.get("MessageAttributes", {})
            kept.append(
                {
                    name: str(attributes[name].get("StringValue"))
                    for name in ("rejectReason", "rejectDetail")
                    if name in attributes
                }
            )
        return kept

    def notifications(self) -> list[str]:
        return [message["Body"] for message in self._receive_all(self.inbox_url)]

    def ledger_item(self, image_build_version_arn: str) -> dict[str, Any] | None:
        history: dict[str, Any] | None = self.handler.retrier._ledger.history(
            image_build_version_arn
        )
        return history


def _shown(folder: str, name: str) -> Path:
    """How a case file is named in an error: from the project's root."""
    return (CASES / folder / name).relative_to(PROJECT_ROOT)


def _load(folder: str, name: str) -> Any:
    try:
        return json.loads((CASES / folder / name).read_text())
    except OSError as error:
        raise CaseError(f"{_shown(folder, name)} cannot be read: {error.strerror}") from None
    except json.JSONDecodeError as error:
        raise CaseError(f"{_shown(folder, name)} is not JSON: {error}") from None


def _load_object(folder: str, name: str) -> dict[str, Any]:
    loaded = _load(folder, name)
    if not isinstance(loaded, dict):
        kind = {list: "list", str: "string", bool: "boolean", type(None): "null"}.get(
            type(loaded), "number"
        )
        raise CaseError(f"{_shown(folder, name)} holds a JSON {kind}, not an object")
    return loaded


def play_scenario(stack: LocalStack, scenario: Any) -> ScenarioResult:
    named = scenario if isinstance(scenario, dict) else {}
    result = ScenarioResult(name=str(named.get("name", "?")), image=str(named.get("image", "")))
    try:
        _play(stack, scenario, result)
    except CaseError as error:
        result.error = str(error)
    return result


def _checked(scenario: Any) -> tuple[str, list[dict[str, Any]]]:
    """The scenario's image file and steps, or a CaseError naming what is wrong with it."""
    where = _shown("", "scenarios.json")
    if not isinstance(scenario, dict) or not isinstance(scenario.get("image"), str):
        raise CaseError(f'a scenario in {where} names no image file ("image")')
    steps = scenario.get("steps")
    if not isinstance(steps, list):
        raise CaseError(f'the scenario\'s "steps" in {where} is not a list')
    for number, step in enumerate(steps, start=1):
        delivers = isinstance(step, dict) and isinstance(step.get("deliver"), str)
        if not isinstance(step, dict) or not (
            "image_status" in step or (delivers and isinstance(step.get("as", {}), dict))
        ):
            raise CaseError(
                f'step {number} of the scenario in {where} needs "deliver" (an event file, '
                'with an optional "as" object) or "image_status"'
            )
    return scenario["image"], steps


def _play(stack: LocalStack, scenario: Any, result: ScenarioResult) -> None:
    image_file, steps = _checked(scenario)
    image = _load_object("images", image_file)
    record = image.get("image")
    arn = record.get("arn") if isinstance(record, dict) else None
    if not isinstance(arn, str):
        raise CaseError(f"{_shown('images', image_file)} has no image.arn")
    stack.reset(image)

    for step in steps:
        if "image_status" in step:
            stack.image_builder.set_status(arn, step["image_status"])
            continue
        event = _load_object("events", step["deliver"]) | step.get("as", {})
        routed = stack.route(event)
        result.routed.append(routed)
        if routed:
            result.decisions.extend(
                Decision(
                    event_id=line.get("event_id"),
                    decision=line.get("decision", "rejected"),
                    reason=line.get("reason") or line.get("reject_reason"),
                    failure_stage=line.get("failure_stage"),
                    stage_source=line.get("stage_source"),
                    failure_class=line.get("failure_class"),
                    cause_rules=line.get("cause_rules"),
                    attempt=line.get("attempt"),
                    max_attempts=line.get("max_attempts"),
                    client_token=line.get("client_token"),
                    due_at=line.get("due_at"),
                    outcome=line.get("outcome"),
                )
                for line in stack.drain()
            )

    result.get_image_calls = stack.image_builder.requests.count("GetImage")
    result.retry_image_calls = [asdict(call) for call in stack.image_builder.retry_image_calls]
    result.dead_lettered = stack.dead_letters()
    result.notifications = stack.notifications()
    ledger = stack.ledger_item(arn)
    if ledger:
        result.ledger = {
            "attempts": int(ledger.get("attempts", {}).get("N", "0")),
            "outcome": ledger["outcome"]["S"],
            "event_ids": sorted(ledger.get("event_ids", {}).get("SS", [])),
        }


def run(template_path: Path) -> list[ScenarioResult]:
    from moto import mock_aws

    os.environ.update(
        {"AWS_DEFAULT_REGION": REGION, "AWS_ACCESS_KEY_ID": "demo", "AWS_SECRET_ACCESS_KEY": "demo"}
    )
    scenarios = _load("", "scenarios.json")["scenarios"]
    with mock_aws():
        stack = LocalStack(StackTemplate(template_path))
        return [play_scenario(stack, scenario) for scenario in scenarios]


LEGEND = """\
Local simulation: no AWS account, no AWS calls. The synthesized rule routes each event, moto
plays SQS, DynamoDB and SNS, and a fake Image Builder answers GetImage and RetryImage. Time is
simulated: a retry that must wait (defer) goes back on the queue, and the clock jumps ahead.
Outcomes: requested = RetryImage started a retry; deferred = the event waits for its due time;
notified = a notification went out; already_notified = it had gone out before; no_call = the
retrier made no RetryImage call; kept = the message went to the dead-letter queue."""


def _print_report(results: list[ScenarioResult]) -> None:
    print(LEGEND)
    for result in results:
        print(f"\n== {result.name}")
        if result.error:
            print(f"   error: {result.error}; the scenario stopped there")
        if result.get_image_calls:
            print(f"   GetImage serves: {result.image}")
        if result.routed and not any(result.routed):
            print(f"   {len(result.routed)} event(s): none routed by the rule (no queue, no call)")
        for decision in result.decisions:
            attempt = f" attempt {decision.attempt}" if decision.attempt else ""
            if decision.decision in {"give_up", "recovered"} and decision.attempt:
                attempt = f" after {decision.attempt} of {decision.max_attempts} attempts"
            print(
                f"   event {decision.event_id or '?'}: {decision.decision}{attempt}"
                f" ({decision.reason}) -> {decision.outcome or 'kept'}"
            )
            if decision.failure_stage and decision.stage_source:
                print(f"      failure stage {decision.failure_stage} from {decision.stage_source}")
            if decision.failure_class:
                rules = ", ".join(decision.cause_rules or []) or "no rule matched"
                print(f"      cause: {decision.failure_class} ({rules})")
            if decision.decision == "defer":
                print(f"      the retry is due at {decision.due_at}; the event waits in the queue")
        for call in result.retry_image_calls:
            effect = "retry started" if call["accepted"] else "no new effect"
            print(f"   RetryImage(clientToken={call['client_token']}) -> {effect}")
        if not result.retry_image_calls:
            print("   RetryImage: not called")
        for kept in result.dead_lettered:
            reason, detail = kept.get("rejectReason"), kept.get("rejectDetail")
            print(f"   kept in the dead-letter queue: {reason}: {detail}")
        for notification in result.notifications:
            print("   notification:")
            for line in notification.splitlines():
                print(f"   | {line}")
        if result.ledger:
            print(f"   ledger: {result.ledger['attempts']} attempt(s), {result.ledger['outcome']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--template", type=Path, required=True, help="synthesized template JSON")
    parser.add_argument("--json", action="store_true", help="print results as JSON")
    args = parser.parse_args(argv)
    if not args.template.is_file():
        parser.error(f"{args.template} does not exist; run `make synth` first")

    try:
        results = run(args.template)
    except CaseError as error:
        parser.exit(1, f"error: {error}\n")
    if args.json:
        print(json.dumps([asdict(result) for result in results], indent=2))
    else:
        _print_report(results)
    return 1 if any(result.error for result in results) else 0


if __name__ == "__main__":
    sys.exit(main())
