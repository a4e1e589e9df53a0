"""Play the shipped Image Builder events through the synthesized stack, locally.

The rule's pattern and the function's environment come from the synthesized template. Each
event is matched by EventBridge's own TestEventPattern (moto), sent to an SQS queue (moto)
with the template's redrive policy, received as the Lambda service would, and handed to the
real handler, whose Image Builder client answers from a fake behind botocore.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from localsim.image_builder_fake import ImageBuilderFake

if TYPE_CHECKING:
    from mypy_boto3_sqs.type_defs import MessageTypeDef

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CASES = PROJECT_ROOT / "tests" / "cases"
REGION = "us-east-1"
ACCOUNT = "111122223333"


@dataclass
class Delivery:
    event_file: str
    routed: bool
    decision: str | None = None
    reason: str | None = None
    failure_stage: str | None = None
    stage_source: str | None = None
    client_token: str | None = None
    outcome: str | None = None
    redelivered: bool = False


@dataclass
class ScenarioResult:
    name: str
    image: str
    deliveries: list[Delivery] = field(default_factory=list)
    retry_image_calls: list[dict[str, Any]] = field(default_factory=list)
    dead_lettered: list[dict[str, str]] = field(default_factory=list)


def event_pattern_matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    """EventBridge's matching rules as moto implements them (its TestEventPattern is a stub)."""
    from moto.events.models import EventPattern

    return bool(EventPattern.load(json.dumps(pattern)).matches_event(event))  # type: ignore[arg-type]


class StackTemplate:
    def __init__(self, path: Path) -> None:
        self._resources: dict[str, Any] = json.loads(path.read_text())["Resources"]

    def _one(self, resource_type: str) -> dict[str, Any]:
        found = [r for r in self._resources.values() if r["Type"] == resource_type]
        if len(found) != 1:
            raise SystemExit(f"expected one {resource_type} in the template, found {len(found)}")
        return found[0]["Properties"]  # type: ignore[no-any-return]

    @property
    def event_pattern(self) -> dict[str, Any]:
        return self._one("AWS::Events::Rule")["EventPattern"]  # type: ignore[no-any-return]

    @property
    def function_environment(self) -> dict[str, Any]:
        function = self._one("AWS::Lambda::Function")
        return function["Environment"]["Variables"]  # type: ignore[no-any-return]

    @property
    def max_receive_count(self) -> int:
        for resource in self._resources.values():
            redrive = resource.get("Properties", {}).get("RedrivePolicy")
            if resource["Type"] == "AWS::SQS::Queue" and redrive:
                return int(redrive["maxReceiveCount"])
        raise SystemExit("no queue with a redrive policy in the template")


class LocalStack:
    """The rule, queues and function of the template, wired together in moto."""

    def __init__(self, template: StackTemplate) -> None:
        import boto3

        self._template = template
        self._sqs = boto3.client("sqs", region_name=REGION)
        self.dead_letter_queue_url = self._sqs.create_queue(QueueName="dead-letters")["QueueUrl"]
        dead_letter_arn = self._queue_arn(self.dead_letter_queue_url)
        self.queue_url = self._sqs.create_queue(
            QueueName="failed-images",
            Attributes={
                "RedrivePolicy": json.dumps(
                    {
                        "deadLetterTargetArn": dead_letter_arn,
                        "maxReceiveCount": template.max_receive_count,
                    }
                ),
            },
        )["QueueUrl"]
        self.queue_arn = self._queue_arn(self.queue_url)
        self.handler = self._load_handler()
        self.image_builder = ImageBuilderFake()
        self.image_builder.attach(self.handler.image_builder_client)
        self.logs = io.StringIO()
        self.handler.logger.registered_handler.setStream(self.logs)

    def _queue_arn(self, queue_url: str) -> str:
        attributes = self._sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
        return attributes["Attributes"]["QueueArn"]

    def _load_handler(self) -> ModuleType:
        environment = dict(self._template.function_environment)
        environment["DEAD_LETTER_QUEUE_URL"] = self.dead_letter_queue_url
        environment["POWERTOOLS_TRACE_DISABLED"] = "true"
        os.environ.update({key: str(value) for key, value in environment.items()})
        sys.path.insert(0, str(PROJECT_ROOT / "lambda"))
        from image_retrier import handler

        return handler

    def route(self, event: dict[str, Any]) -> bool:
        matched = event_pattern_matches(self._template.event_pattern, event)
        if matched:
            self._sqs.send_message(QueueUrl=self.queue_url, MessageBody=json.dumps(event))
        return matched

    def invoke_function(self) -> list[dict[str, Any]]:
        """Receive one batch as the Lambda service does, invoke, delete what succeeded."""
        received = self._sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=10,
            MessageSystemAttributeNames=["All"],
            VisibilityTimeout=0,
        ).get("Messages", [])
        if not received:
            return []
        records = [self._lambda_record(message) for message in received]
        with contextlib.redirect_stdout(io.StringIO()):
            response = self.handler.lambda_handler({"Records": records}, _LambdaContext())
        failed = {failure["itemIdentifier"] for failure in response["batchItemFailures"]}
        for message in received:
            if message["MessageId"] not in failed:
                self._sqs.delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )
        return self.decisions()

    def _lambda_record(self, message: MessageTypeDef) -> dict[str, Any]:
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": {},
            "md5OfBody": message["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queue_arn,
            "awsRegion": REGION,
        }

    def decisions(self) -> list[dict[str, Any]]:
        lines = [json.loads(line) for line in self.logs.getvalue().splitlines() if line.strip()]
        self.logs.seek(0)
        self.logs.truncate()
        return [
            line for line in lines if line.get("message") in {"retry decision", "event rejected"}
        ]

    def dead_letters(self) -> list[dict[str, str]]:
        kept: list[dict[str, str]] = []
        while True:
            messages = self._sqs.receive_message(
                QueueUrl=self.dead_letter_queue_url,
                MaxNumberOfMessages=10,
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not messages:
                return kept
            for message in messages:
                attributes = message.get("MessageAttributes", {})
                kept.append(
                    {
                        name: str(attributes[name].get("StringValue"))
                        for name in ("rejectReason", "rejectDetail")
                        if name in attributes
                    }
                )
                self._sqs.delete_message(
                    QueueUrl=self.dead_letter_queue_url, ReceiptHandle=message["ReceiptHandle"]
                )


class _LambdaContext:
    function_name = "image-retrier"
    memory_limit_in_mb = 512
    invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:image-retrier"
    aws_request_id = "00000000-0000-4000-8000-000000000000"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 90_000


def play_scenario(stack: LocalStack, scenario: dict[str, Any]) -> ScenarioResult:
    result = ScenarioResult(name=scenario["name"], image=scenario["image"])
    stack.image_builder.reset()
    stack.image_builder.put_image(json.loads((CASES / "images" / scenario["image"]).read_text()))

    for event_file in scenario["deliveries"]:
        event = json.loads((CASES / "events" / event_file).read_text())
        delivery = Delivery(event_file=event_file, routed=stack.route(event))
        result.deliveries.append(delivery)
        if not delivery.routed:
            continue
        for line in stack.invoke_function():
            delivery.decision = line.get("decision", "rejected")
            delivery.reason = line.get("reason") or line.get("reject_reason")
            delivery.failure_stage = line.get("failure_stage")
            delivery.stage_source = line.get("stage_source")
            delivery.client_token = line.get("client_token")
            delivery.outcome = line.get("outcome")

    result.retry_image_calls = [asdict(call) for call in stack.image_builder.retry_image_calls]
    result.dead_lettered = stack.dead_letters()
    return result


def run(template_path: Path) -> list[ScenarioResult]:
    from moto import mock_aws

    os.environ.update(
        {
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "demo",
            "AWS_SECRET_ACCESS_KEY": "demo",
        }
    )
    scenarios = json.loads((CASES / "scenarios.json").read_text())["scenarios"]
    with mock_aws():
        stack = LocalStack(StackTemplate(template_path))
        return [play_scenario(stack, scenario) for scenario in scenarios]


def _print_report(results: list[ScenarioResult]) -> None:
    for result in results:
        print(f"\n== {result.name}")
        print(f"   GetImage serves: {result.image}")
        for delivery in result.deliveries:
            if not delivery.routed:
                print(f"   {delivery.event_file}: not routed by the rule (no queue, no call)")
                continue
            print(f"   {delivery.event_file}: routed -> {delivery.decision} ({delivery.reason})")
            if delivery.failure_stage:
                print(f"      failure stage {delivery.failure_stage} from {delivery.stage_source}")
            if delivery.client_token:
                print(f"      client token {delivery.client_token}, outcome {delivery.outcome}")
        for call in result.retry_image_calls:
            effect = "retry started" if call["accepted"] else "no new effect"
            print(
                f"   RetryImage({call['image_build_version_arn']}, "
                f"clientToken={call['client_token']}) -> {effect}"
            )
        if not result.retry_image_calls:
            print("   RetryImage: not called")
        for kept in result.dead_lettered:
            reason, detail = kept.get("rejectReason"), kept.get("rejectDetail")
            print(f"   kept in the dead-letter queue: {reason}: {detail}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--template", type=Path, required=True, help="synthesized template JSON")
    parser.add_argument("--json", action="store_true", help="print results as JSON")
    args = parser.parse_args(argv)
    if not args.template.is_file():
        parser.error(f"{args.template} does not exist; run `make synth` first")

    results = run(args.template)
    if args.json:
        print(json.dumps([asdict(result) for result in results], indent=2))
    else:
        _print_report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
