"""Parse and validate the EventBridge events that Image Builder sends about an image."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

IMAGE_BUILDER_SOURCE = "aws.imagebuilder"
STATE_CHANGE_DETAIL_TYPE = "EC2 Image Builder Image State Change"

IMAGE_BUILD_VERSION_ARN = re.compile(
    r"^arn:aws[a-z-]*:imagebuilder:(?P<region>[a-z0-9-]+):(?P<account>[0-9]{12}):"
    r"image/[A-Za-z0-9._-]+/[0-9]+\.[0-9]+\.[0-9]+/[0-9]+\Z"
)
# EventBridge event ids are UUIDs; anything printable and short is accepted, nothing that
# could not be logged or hashed.
EVENT_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}\Z")


class MalformedEventError(ValueError):
    """The message is not an Image Builder image state-change event we can act on."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        # The event's id, when it has a valid one, so that the rejection can be found by it.
        self.event_id: str | None = None


@dataclass(frozen=True)
class ImageStateChange:
    event_id: str
    event_time: str
    failed_at: datetime
    region: str
    account: str
    image_build_version_arn: str
    status: str
    previous_status: str | None
    reason: str | None


def parse_message_body(body: str) -> ImageStateChange:
    try:
        event = json.loads(body)
    except (TypeError, ValueError, RecursionError) as error:
        detail = type(error).__name__ if isinstance(error, RecursionError) else str(error)
        raise MalformedEventError(
            "body_not_json", f"the message body is not JSON ({detail})"
        ) from None
    return parse_state_change(event)


def parse_state_change(event: Any) -> ImageStateChange:
    try:
        return _parse_state_change(event)
    except MalformedEventError as error:
        event_id = event.get("id") if isinstance(event, Mapping) else None
        if isinstance(event_id, str) and EVENT_ID.match(event_id):
            error.event_id = event_id
        raise


def _parse_state_change(event: Any) -> ImageStateChange:
    if not isinstance(event, Mapping):
        raise MalformedEventError("not_an_object", "the event is not a JSON object")

    if event.get("source") != IMAGE_BUILDER_SOURCE:
        raise MalformedEventError("wrong_source", f"source is {event.get('source')!r}")
    if event.get("detail-type") != STATE_CHANGE_DETAIL_TYPE:
        raise MalformedEventError(
            "wrong_detail_type", f"detail-type is {event.get('detail-type')!r}"
        )

    event_id = _required_text(event, "id")
    if not EVENT_ID.match(event_id):
        raise MalformedEventError("invalid_id", f"id {event_id[:64]!r} is not an event id")
    event_time = _required_text(event, "time")
    region = _required_text(event, "region")
    account = _required_text(event, "account")

    resources = event.get("resources")
    if not isinstance(resources, list) or not resources:
        found = "missing" if resources is None else "empty" if resources == [] else "not a list"
        raise MalformedEventError(
            "no_resources", f"resources is {found}; it must be a list holding the image ARN"
        )
    image_build_version_arn = resources[0]
    arn = (
        IMAGE_BUILD_VERSION_ARN.match(image_build_version_arn)
        if isinstance(image_build_version_arn, str)
        else None
    )
    if arn is None:
        raise MalformedEventError(
            "invalid_image_arn",
            f"resources[0] is {image_build_version_arn!r:.200}, not an image build version ARN",
        )
    if (arn["region"], arn["account"]) != (region, account):
        raise MalformedEventError(
            "image_arn_mismatch",
            f"the image ARN names {arn['account']}/{arn['region']}, "
            f"the event {account!r:.40}/{region!r:.40}",
        )

    detail = event.get("detail")
    state = detail.get("state") if isinstance(detail, Mapping) else None
    if not isinstance(state, Mapping) or not isinstance(state.get("status"), str):
        raise MalformedEventError("no_state_status", "detail.state.status is missing")
    previous_state = detail.get("previous-state") if isinstance(detail, Mapping) else None
    previous_status = previous_state.get("status") if isinstance(previous_state, Mapping) else None
    reason = state.get("reason")

    return ImageStateChange(
        event_id=event_id,
        event_time=event_time,
        failed_at=_timestamp(event_time),
        region=region,
        account=account,
        image_build_version_arn=image_build_version_arn,
        status=state["status"],
        previous_status=previous_status if isinstance(previous_status, str) else None,
        reason=reason if isinstance(reason, str) and reason else None,
    )


def _required_text(event: Mapping[str, Any], key: str) -> str:
    value = event.get(key)
    if not isinstance(value, str) or not value:
        raise MalformedEventError(f"no_{key}", f"{key} is missing or empty")
    return value


def _timestamp(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise MalformedEventError("invalid_time", f"time {text[:64]!r} is not ISO 8601") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
