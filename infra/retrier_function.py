"""The retrier function, its least-privilege role, its logs, and its queue subscription."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.settings import StackSettings

# One Image Builder call takes at most about 110 s when botocore retries it to the end (see
# CLIENT_CONFIG in lambda/image_retrier/image_builder.py); a record is only started with 60 s
# left, and a timed-out batch comes back through the queue, where ledger and client token
# keep it from retrying twice.
FUNCTION_TIMEOUT = Duration.seconds(120)
# The function is I/O bound; 512 MB buys the CPU share that keeps boto3's import short on a
# cold start, which dominates an invocation. It runs rarely, so the cost is negligible.
FUNCTION_MEMORY_MB = 512
BATCH_SIZE = 5
# AWS advises a queue visibility timeout of at least six times the function timeout.
QUEUE_VISIBILITY_TIMEOUT = Duration.seconds(6 * 120)
METRICS_NAMESPACE = "ImageRetrier"
SERVICE_NAME = "image-retrier"


class RetrierFunction(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: StackSettings,
        code_dir: Path,
        queue: sqs.IQueue,
        dead_letter_queue: sqs.IQueue,
        ledger: dynamodb.ITableV2,
        topic: sns.ITopic,
        topic_key: kms.IKey,
        handler: str = "image_retrier.handler.lambda_handler",
        timeout: Duration = FUNCTION_TIMEOUT,
        reads_queue: bool = True,
        extra_environment: dict[str, str] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)

        self.log_group = logs.LogGroup(self, "Logs", removal_policy=RemovalPolicy.RETAIN)
        # The context value is already one of the day counts CloudWatch accepts.
        log_group_resource = self.log_group.node.default_child
        assert isinstance(log_group_resource, logs.CfnLogGroup)
        log_group_resource.retention_in_days = settings.log_retention_days
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Image Builder retrier: read and retry images, consume its queue",
        )
        self.log_group.grant_write(self.role)
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="InspectAndRetryImages",
                actions=["imagebuilder:GetImage", "imagebuilder:RetryImage"],
                resources=[
                    Stack.of(self).format_arn(
                        service="imagebuilder", resource="image", resource_name="*"
                    )
                ],
            )
        )
        dead_letter_queue.grant_send_messages(self.role)
        # Deferring a retry puts the event back on its own queue with a delay.
        queue.grant_send_messages(self.role)
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="UseAttemptLedger",
                actions=["dynamodb:GetItem", "dynamodb:UpdateItem"],
                resources=[ledger.table_arn],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(sid="Notify", actions=["sns:Publish"], resources=[topic.topic_arn])
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="EncryptNotifications",
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=[topic_key.key_arn],
            )
        )

        self.function = lambda_.Function(
            self,
            "Function",
            description="Retries EC2 Image Builder images whose distribution failed",
            runtime=lambda_.Runtime.PYTHON_3_14,
            architecture=lambda_.Architecture.ARM_64,
            handler=handler,
            code=lambda_.Code.from_asset(str(code_dir)),
            timeout=timeout,
            memory_size=FUNCTION_MEMORY_MB,
            role=self.role,
            log_group=self.log_group,
            tracing=lambda_.Tracing.ACTIVE,
            environment={
                "MAX_ATTEMPTS": str(settings.max_attempts),
                "RETRY_STAGES": ",".join(settings.retry_stages),
                "DRY_RUN": "true" if settings.dry_run else "false",
                "RETRY_DELAY_SECONDS": str(settings.retry_delay_seconds),
                "BACKOFF_RATE": str(settings.backoff_rate),
                "MAX_RETRY_DELAY_SECONDS": str(settings.max_retry_delay_seconds),
                "NOTIFY_ON_RECOVERY": "true" if settings.notify_on_recovery else "false",
                "UNKNOWN_CAUSES": settings.unknown_causes,
                **settings.context_environment,
                "QUEUE_URL": queue.queue_url,
                "DEAD_LETTER_QUEUE_URL": dead_letter_queue.queue_url,
                "LEDGER_TABLE_NAME": ledger.table_name,
                "LEDGER_TTL_DAYS": str(settings.ledger_ttl_days),
                "NOTIFICATION_TOPIC_ARN": topic.topic_arn,
                **(extra_environment or {}),
                "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
                "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                "POWERTOOLS_LOG_LEVEL": settings.log_level,
            },
        )
        if reads_queue:
            self.function.add_event_source(
                sources.SqsEventSource(
                    queue,
                    batch_size=BATCH_SIZE,
                    report_batch_item_failures=True,
                    max_concurrency=settings.max_concurrency,
                )
            )
