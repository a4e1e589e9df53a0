"""The rule that catches failed images and the durable queue that holds them for the function."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import Annotations, Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.settings import DEAD_LETTER_RETENTION_DAYS

IMAGE_STATE_CHANGE = "EC2 Image Builder Image State Change"

# EventBridge's default quota for an event pattern, in characters.
EVENT_PATTERN_CHARACTERS = 2048
# A record that failed this many receives is kept in the dead-letter queue for a person.
MAX_RECEIVE_COUNT = 5
DEAD_LETTER_RETENTION = Duration.days(DEAD_LETTER_RETENTION_DAYS)


def _encrypted_queue(scope: Construct, construct_id: str, **kwargs: object) -> sqs.Queue:
    # SQS-managed keys: EventBridge can deliver to them without a customer key policy.
    return sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        **kwargs,  # type: ignore[arg-type]
    )


class FailedImageEventBuffer(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        event_bus_name: str,
        visibility_timeout: Duration,
        image_arn_wildcards: tuple[str, ...] = (),
    ) -> None:
        super().__init__(scope, construct_id)

        self.dead_letter_queue = _encrypted_queue(
            self, "DeadLetterQueue", retention_period=DEAD_LETTER_RETENTION
        )
        self.queue = _encrypted_queue(
            self,
            "Queue",
            visibility_timeout=visibility_timeout,
            retention_period=DEAD_LETTER_RETENTION,
            dead_letter_queue=sqs.DeadLetterQueue(
                max_receive_count=MAX_RECEIVE_COUNT, queue=self.dead_letter_queue
            ),
        )
        self.delivery_dead_letter_queue = _encrypted_queue(
            self, "DeliveryDeadLetterQueue", retention_period=DEAD_LETTER_RETENTION
        )

        event_bus = (
            None
            if event_bus_name == "default"
            else events.EventBus.from_event_bus_name(self, "EventBus", event_bus_name)
        )
        pattern: dict[str, Any] = {
            "source": ["aws.imagebuilder"],
            "detail-type": [IMAGE_STATE_CHANGE],
            "detail": {"state": {"status": ["FAILED", "AVAILABLE"]}},
        }
        self.rule = events.Rule(
            self,
            "ImageStateRule",
            description="Image Builder images that FAILED (to retry) or became AVAILABLE (to "
            "record a recovery), for the retrier",
            event_bus=event_bus,
            event_pattern=events.EventPattern(
                source=pattern["source"],
                detail_type=pattern["detail-type"],
                detail=pattern["detail"],
            ),
        )
        name_filter = [{"wildcard": wildcard} for wildcard in image_arn_wildcards]
        # Images no included name matches are dropped here, at no cost to the function, unless
        # the filter would outgrow the pattern quota; the function checks the names either way.
        # Measured with a space after each separator: the longest form it can reach EventBridge in.
        filtered_length = len(json.dumps(pattern | {"resources": name_filter}))
        if name_filter and filtered_length > EVENT_PATTERN_CHARACTERS:
            Annotations.of(self.rule).add_warning_v2(
                "image-retrier:NameFilterTooLong",
                f"The included image names would make the rule's pattern {filtered_length} "
                f"characters long, over EventBridge's default quota of {EVENT_PATTERN_CHARACTERS}: "
                "the rule passes every image, and the function checks the names itself.",
            )
        elif name_filter:
            # EventPattern types resources as plain strings, so the filter goes in as written.
            rule_resource = self.rule.node.default_child
            assert isinstance(rule_resource, events.CfnRule)
            rule_resource.add_property_override("EventPattern.resources", name_filter)
        self.rule.add_target(
            targets.SqsQueue(
                self.queue,
                dead_letter_queue=self.delivery_dead_letter_queue,
                retry_attempts=185,
                max_event_age=Duration.hours(24),
            )
        )
