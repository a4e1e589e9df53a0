"""A Retrier wired to moto (DynamoDB, SQS, SNS) and the Image Builder fake, for the ledger tests."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics

from image_retrier.deferrals import Deferrals
from image_retrier.events import ImageStateChange, parse_message_body
from image_retrier.image_builder import ImageBuilder, create_client
from image_retrier.ledger import AttemptLedger
from image_retrier.notifications import Notifier
from image_retrier.retrier import Retrier, RetrierResult
from image_retrier.settings import RetrierSettings
from localsim.image_builder_fake import ImageBuilderFake
from tests.conftest import (
    LEDGER_TABLE_NAME,
    NOTIFICATION_TOPIC_ARN,
    QUEUE_URL,
    AwsResources,
    load_event,
)

SETTINGS = RetrierSettings(max_attempts=3, retry_stages=frozenset({"DISTRIBUTING"}), dry_run=False)
WEB_SERVER = "arn:aws:imagebuilder:us-east-1:111122223333:image/web-server/1.4.0/3"


@dataclass
class Clock:
    now: datetime = field(default_factory=lambda: datetime(2026, 11, 30, 12, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now


class RetrierHarness:
    def __init__(self, resources: AwsResources, settings: RetrierSettings = SETTINGS) -> None:
        self.resources = resources
        self.image_builder = ImageBuilderFake()
        client = create_client("us-east-1")
        self.image_builder.attach(client)
        self.clock = Clock()
        self.ledger = AttemptLedger(boto3.client("dynamodb"), LEDGER_TABLE_NAME, 90)
        self.sqs = boto3.client("sqs")
        self.retrier = Retrier(
            image_builder=ImageBuilder(client),
            ledger=self.ledger,
            notifier=Notifier(boto3.client("sns"), NOTIFICATION_TOPIC_ARN),
            deferrals=Deferrals(self.sqs, QUEUE_URL),
            settings=settings,
            logger=Logger(service="image-retrier-test"),
            metrics=Metrics(namespace="ImageRetrierTest"),
            clock=self.clock,
        )

    @staticmethod
    def failure_event(event_id: str, time: str = "2026-11-30T09:14:07Z") -> dict[str, Any]:
        return load_event("distribution-failed.json") | {"id": event_id, "time": time}

    def deliver(self, event: dict[str, Any], deferred_return: bool = False) -> RetrierResult:
        body = json.dumps(event)
        change: ImageStateChange = parse_message_body(body)
        return self.retrier.process(change, body, deferred_return=deferred_return)

    def notifications(self) -> list[str]:
        bodies = []
        while messages := self.sqs.receive_message(
            QueueUrl=self.resources.notification_inbox_url, MaxNumberOfMessages=10
        ).get("Messages", []):
            for message in messages:
                bodies.append(message["Body"])
                self.sqs.delete_message(
                    QueueUrl=self.resources.notification_inbox_url,
                    ReceiptHandle=message["ReceiptHandle"],
                )
        return bodies

    def attempts(self, image_build_version_arn: str = WEB_SERVER) -> int:
        item = self.ledger.history(image_build_version_arn)
        return int(item["attempts"]["N"]) if item else 0
