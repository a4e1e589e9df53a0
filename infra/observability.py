"""Alarms to the notification topic, and one dashboard, for the people who run the retrier."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.settings import StackSettings

PERIOD = Duration.minutes(5)


@dataclass(frozen=True)
class RetrierMetrics:
    """The function's own metrics, as Powertools publishes them (namespace and service)."""

    namespace: str
    service: str

    def count(self, name: str, label: str | None = None) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=self.namespace,
            metric_name=name,
            dimensions_map={"service": self.service},
            statistic="Sum",
            period=PERIOD,
            label=label,
        )


class RetrierObservability(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: StackSettings,
        metrics: RetrierMetrics,
        function: lambda_.IFunction,
        queue: sqs.IQueue,
        dead_letter_queues: dict[str, sqs.IQueue],
        topic: sns.ITopic,
        sweeper: lambda_.IFunction | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        notify = actions.SnsAction(topic)

        def alarm(
            alarm_id: str, metric: cloudwatch.IMetric, threshold: float, description: str
        ) -> cloudwatch.Alarm:
            created = cloudwatch.Alarm(
                self,
                alarm_id,
                metric=metric,
                threshold=threshold,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                alarm_description=description,
            )
            created.add_alarm_action(notify)
            return created

        self.alarms = [
            *(
                alarm(
                    f"{name}Messages",
                    dead_letters.metric_approximate_number_of_messages_visible(
                        period=PERIOD, statistic="Maximum"
                    ),
                    settings.alarm_dead_letter_messages,
                    f"Messages wait in the {name} dead-letter queue: events the retrier could "
                    "not handle. Read their rejectReason attribute, fix, then redrive.",
                )
                for name, dead_letters in dead_letter_queues.items()
            ),
            alarm(
                "FunctionErrors",
                function.metric_errors(period=PERIOD, statistic="Sum"),
                settings.alarm_function_errors,
                "The retrier function failed invocations; its log group has the errors.",
            ),
            *(
                [
                    alarm(
                        "SweeperErrors",
                        sweeper.metric_errors(period=Duration.hours(1), statistic="Sum"),
                        1,
                        "The sweeper for lost events failed; its log group has the error.",
                    )
                ]
                if sweeper
                else []
            ),
            alarm(
                "ImageBuilderThrottled",
                metrics.count("ImageBuilderThrottled"),
                settings.alarm_throttled_calls,
                "Image Builder throttled the retrier's calls (HTTP 429); lower maxConcurrency.",
            ),
            alarm(
                "GaveUp",
                metrics.count("GaveUp"),
                settings.alarm_give_ups,
                "The retrier spent an image's attempt budget and gave up on it.",
            ),
            alarm(
                "NeedsFix",
                metrics.count("NeedsFix"),
                settings.alarm_needs_fix,
                "An image failed for a cause a retry cannot fix; a person must change something.",
            ),
            alarm(
                "OldestMessageAge",
                queue.metric_approximate_age_of_oldest_message(period=PERIOD, statistic="Maximum"),
                settings.alarm_oldest_message_age_seconds,
                "Events wait in the retrier's queue longer than expected: is the function "
                "failing or throttled?",
            ),
        ]

        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            default_interval=Duration.days(7),
            widgets=[
                [
                    cloudwatch.GraphWidget(
                        title="Retries",
                        left=[
                            metrics.count("RetryRequested", "retries requested"),
                            metrics.count("RetryDeferred", "deferred (backoff)"),
                            metrics.count("GaveUp", "gave up"),
                            metrics.count("NeedsFix", "needs a fix"),
                        ],
                        width=12,
                    ),
                    cloudwatch.GraphWidget(
                        title="Recovered after retry (attempts it took)",
                        left=[
                            metrics.count("RecoveredAfterRetry", "attempts, summed"),
                            cloudwatch.Metric(
                                namespace=metrics.namespace,
                                metric_name="RecoveredAfterRetry",
                                dimensions_map={"service": metrics.service},
                                statistic="SampleCount",
                                period=PERIOD,
                                label="images recovered",
                            ),
                        ],
                        width=12,
                    ),
                ],
                [
                    cloudwatch.GraphWidget(
                        title="Skipped, by reason",
                        left=[
                            cloudwatch.MathExpression(
                                expression=(
                                    f"SEARCH('{{{metrics.namespace},service}} "
                                    f'service="{metrics.service}" MetricName=Skipped_\', '
                                    "'Sum', 300)"
                                ),
                                label="",
                                period=PERIOD,
                            )
                        ],
                        width=12,
                    ),
                    cloudwatch.GraphWidget(
                        title="Dead-lettered and rejected",
                        left=[
                            *(
                                dead_letters.metric_approximate_number_of_messages_visible(
                                    period=PERIOD, statistic="Maximum", label=name
                                )
                                for name, dead_letters in dead_letter_queues.items()
                            ),
                            metrics.count("EventRejected", "events rejected"),
                            metrics.count("ConfigurationError", "refused by Image Builder"),
                        ],
                        width=12,
                    ),
                ],
                [
                    cloudwatch.GraphWidget(
                        title="Function duration and errors",
                        left=[function.metric_duration(period=PERIOD, statistic="p90")],
                        right=[function.metric_errors(period=PERIOD, statistic="Sum")],
                        width=12,
                    ),
                    cloudwatch.GraphWidget(
                        title="Image Builder calls",
                        left=[
                            metrics.count("ImageBuilderThrottled", "throttled (429)"),
                            metrics.count("TransientError", "unavailable after retries"),
                        ],
                        right=[
                            queue.metric_approximate_age_of_oldest_message(
                                period=PERIOD, statistic="Maximum", label="oldest queued (s)"
                            )
                        ],
                        width=12,
                    ),
                ],
            ],
        )
