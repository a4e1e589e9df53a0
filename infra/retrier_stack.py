"""The one stack: rule, queue, function, and the cdk-nag suppressions with their reasons."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import Acknowledgment, Stack, Token, Validations
from constructs import Construct

from infra.attempt_ledger import AttemptLedgerTable
from infra.event_buffer import FailedImageEventBuffer
from infra.notifications import NotificationTopic
from infra.observability import RetrierMetrics, RetrierObservability
from infra.retrier_function import (
    METRICS_NAMESPACE,
    QUEUE_VISIBILITY_TIMEOUT,
    SERVICE_NAME,
    RetrierFunction,
)
from infra.settings import StackSettings


class RetrierStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: StackSettings,
        code_dir: Path,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)

        buffer = FailedImageEventBuffer(
            self,
            "Events",
            event_bus_name=settings.event_bus_name,
            visibility_timeout=QUEUE_VISIBILITY_TIMEOUT,
            image_arn_wildcards=settings.image_arn_wildcards,
        )
        ledger = AttemptLedgerTable(self, "Ledger")
        notifications = NotificationTopic(
            self, "Notifications", emails=settings.notification_emails
        )
        retrier = RetrierFunction(
            self,
            "Retrier",
            settings=settings,
            code_dir=code_dir,
            queue=buffer.queue,
            dead_letter_queue=buffer.dead_letter_queue,
            ledger=ledger.table,
            topic=notifications.topic,
            topic_key=notifications.key,
        )
        RetrierObservability(
            self,
            "Observability",
            settings=settings,
            metrics=RetrierMetrics(namespace=METRICS_NAMESPACE, service=SERVICE_NAME),
            function=retrier.function,
            queue=buffer.queue,
            dead_letter_queues={
                "EventDeadLetter": buffer.dead_letter_queue,
                "DeliveryDeadLetter": buffer.delivery_dead_letter_queue,
            },
            topic=notifications.topic,
        )
        self.ledger_table = ledger.table
        self.notification_topic = notifications.topic

        Validations.of(buffer.delivery_dead_letter_queue).acknowledge(
            Acknowledgment(
                id="AwsSolutions-SQS3",
                reason="This is the rule target's dead-letter queue (cdk-nag only recognises "
                "queues named in a redrive policy); it needs none of its own.",
            )
        )
        Validations.of(retrier.role).acknowledge(
            Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::{_image_arn_finding(self)}]",
                reason="The retrier acts on whichever image build version of this account and "
                "region fails; image/* names images only.",
            ),
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason="X-Ray PutTraceSegments and PutTelemetryRecords support no resource-level "
                "permissions; CDK adds them for active tracing.",
            ),
        )


def _image_arn_finding(stack: Stack) -> str:
    # cdk-nag names the finding after the resource as synthesized: pseudo parameters for an
    # environment-agnostic stack, the literal account and region when the CLI supplies them.
    region = "<AWS::Region>" if Token.is_unresolved(stack.region) else stack.region
    account = "<AWS::AccountId>" if Token.is_unresolved(stack.account) else stack.account
    return f"arn:<AWS::Partition>:imagebuilder:{region}:{account}:image/*"
