"""The one stack: rule, queue, function, and the cdk-nag suppressions with their reasons."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aws_cdk import Acknowledgment, Duration, Stack, Token, Validations
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
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

# Pages through every pipeline at a gentle pace; stops starting images with 60 s left.
SWEEPER_TIMEOUT = Duration.minutes(5)


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
        # The event path and the sweeper run the same package against the same resources.
        retrier_function = functools.partial(
            RetrierFunction,
            settings=settings,
            code_dir=code_dir,
            queue=buffer.queue,
            dead_letter_queue=buffer.dead_letter_queue,
            ledger=ledger.table,
            topic=notifications.topic,
            topic_key=notifications.key,
        )
        retrier = retrier_function(self, "Retrier")
        sweeper = (
            self._add_sweeper(settings, retrier_function) if settings.sweeper_enabled else None
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
            sweeper=sweeper,
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

    def _add_sweeper(
        self,
        settings: StackSettings,
        retrier_function: Callable[..., RetrierFunction],
    ) -> lambda_.IFunction:
        sweeper = retrier_function(
            self,
            "Sweeper",
            handler="image_retrier.sweeper_handler.lambda_handler",
            timeout=SWEEPER_TIMEOUT,
            reads_queue=False,
            extra_environment={"SWEEP_LOOK_BACK_HOURS": str(settings.sweeper_look_back_hours)},
        )
        sweeper.role.add_to_policy(
            iam.PolicyStatement(
                sid="ListPipelineImages",
                actions=["imagebuilder:ListImagePipelineImages"],
                resources=[
                    self.format_arn(
                        service="imagebuilder", resource="image-pipeline", resource_name="*"
                    )
                ],
            )
        )
        sweeper.role.add_to_policy(
            iam.PolicyStatement(
                sid="ListPipelines",
                actions=["imagebuilder:ListImagePipelines"],
                resources=["*"],
            )
        )
        events.Rule(
            self,
            "SweepSchedule",
            description="Runs the retrier's sweeper for FAILED images whose event went missing",
            schedule=events.Schedule.rate(Duration.minutes(settings.sweeper_rate_minutes)),
            targets=[targets.LambdaFunction(sweeper.function, retry_attempts=0)],
        )
        for finding, reason in (
            (
                f"AwsSolutions-IAM5[Resource::{_image_arn_finding(self)}]",
                "The sweeper acts on whichever image build version of this account and region "
                "failed; image/* names images only.",
            ),
            (
                f"AwsSolutions-IAM5[Resource::{_image_arn_finding(self, 'image-pipeline')}]",
                "The sweeper lists the images of every pipeline of this account and region.",
            ),
            (
                "AwsSolutions-IAM5[Resource::*]",
                "imagebuilder:ListImagePipelines and the X-Ray actions support no "
                "resource-level permissions.",
            ),
        ):
            Validations.of(sweeper.role).acknowledge(Acknowledgment(id=finding, reason=reason))
        # One sweep at a time, and a failed sweep waits for the next schedule rather than
        # running twice more at once (Lambda's own retries of an asynchronous invocation).
        sweeper.function.configure_async_invoke(retry_attempts=0)
        cfn_function = sweeper.function.node.default_child
        assert isinstance(cfn_function, lambda_.CfnFunction)
        cfn_function.reserved_concurrent_executions = 1
        return sweeper.function


def _image_arn_finding(stack: Stack, resource: str = "image") -> str:
    # cdk-nag names the finding after the resource as synthesized: pseudo parameters for an
    # environment-agnostic stack, the literal account and region when the CLI supplies them.
    region = "<AWS::Region>" if Token.is_unresolved(stack.region) else stack.region
    account = "<AWS::AccountId>" if Token.is_unresolved(stack.account) else stack.account
    return f"arn:<AWS::Partition>:imagebuilder:{region}:{account}:{resource}/*"
