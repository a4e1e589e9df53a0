"""Given messages from the queue, when they are parsed, then only well-formed events pass."""

from __future__ import annotations

import json

import pytest

from image_retrier.events import MalformedEventError, parse_message_body
from tests.conftest import load_event

FAILURE_EVENTS = [
    "distribution-failed.json",
    "distribution-failed-with-reason.json",
    "distribution-failed-again.json",
    "test-failed.json",
    "build-failed.json",
]


@pytest.mark.parametrize("name", FAILURE_EVENTS)
def test_shipped_failure_events_parse_with_the_image_arn_from_resources(name: str) -> None:
    event = load_event(name)

    change = parse_message_body(json.dumps(event))

    assert change.event_id == event["id"]
    assert change.image_build_version_arn == event["resources"][0]
    assert change.status == "FAILED"
    assert change.previous_status == event["detail"]["previous-state"]["status"]


def test_the_optional_state_reason_is_kept_when_present() -> None:
    change = parse_message_body(json.dumps(load_event("distribution-failed-with-reason.json")))
    assert change.reason is not None
    assert change.reason.startswith("Distribution failed")


def test_event_with_empty_resources_is_rejected_naming_the_reason() -> None:
    body = json.dumps(load_event("malformed-no-resources.json"))

    with pytest.raises(MalformedEventError) as rejected:
        parse_message_body(body)

    assert rejected.value.reason == "no_resources"


def test_a_rejected_event_keeps_its_id_when_the_id_is_valid() -> None:
    valid_id = load_event("distribution-failed.json")["id"]

    with pytest.raises(MalformedEventError) as with_id:
        parse_message_body(_mutated(resources=[]))
    with pytest.raises(MalformedEventError) as bad_id:
        parse_message_body(_mutated(id="no spaces allowed", resources=[]))
    with pytest.raises(MalformedEventError) as not_an_object:
        parse_message_body("[1]")

    assert (with_id.value.reason, with_id.value.event_id) == ("no_resources", valid_id)
    assert (bad_id.value.reason, bad_id.value.event_id) == ("invalid_id", None)
    assert not_an_object.value.event_id is None


def _mutated(**changes: object) -> str:
    event = load_event("distribution-failed.json")
    event.update(changes)
    return json.dumps(event)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("not json at all", "body_not_json"),
        ("[1, 2]", "not_an_object"),
        (_mutated(source="aws.ec2"), "wrong_source"),
        (_mutated(**{"detail-type": "EC2 Image Builder CVE Detected"}), "wrong_detail_type"),
        (
            _mutated(resources=["arn:aws:imagebuilder:us-east-1:111122223333:image-pipeline/web"]),
            "invalid_image_arn",
        ),
        (_mutated(resources=[42]), "invalid_image_arn"),
        (_mutated(detail={"state": {}}), "no_state_status"),
        (_mutated(detail="FAILED"), "no_state_status"),
        (_mutated(id=""), "no_id"),
        (_mutated(id="\ud800abc"), "invalid_id"),
        (_mutated(id="a b"), "invalid_id"),
        (_mutated(id="e5f6a7b8-9abc-44ef-a123-456789abcdef\n"), "invalid_id"),
        (
            _mutated(
                resources=["arn:aws:imagebuilder:us-east-1:111122223333:image/web\ud800/1.4.0/3"]
            ),
            "invalid_image_arn",
        ),
        (
            _mutated(resources=[load_event("distribution-failed.json")["resources"][0] + "\n"]),
            "invalid_image_arn",
        ),
        (_mutated(time="yesterday"), "invalid_time"),
        (_mutated(region="eu-west-1"), "image_arn_mismatch"),
        (_mutated(account="444455556666"), "image_arn_mismatch"),
    ],
)
def test_malformed_messages_are_rejected_with_a_specific_reason(body: str, reason: str) -> None:
    with pytest.raises(MalformedEventError) as rejected:
        parse_message_body(body)
    assert rejected.value.reason == reason


@pytest.mark.parametrize(
    ("arn", "region"),
    [
        ("arn:aws-cn:imagebuilder:cn-north-1:111122223333:image/web-server/1.4.0/3", "cn-north-1"),
        (
            "arn:aws-us-gov:imagebuilder:us-gov-west-1:111122223333:image/web-server/10.0.12/27",
            "us-gov-west-1",
        ),
    ],
)
def test_image_arns_of_every_partition_are_accepted(arn: str, region: str) -> None:
    change = parse_message_body(_mutated(resources=[arn], region=region))
    assert change.image_build_version_arn == arn


def test_deeply_nested_body_is_rejected_not_crashed() -> None:
    with pytest.raises(MalformedEventError) as rejected:
        parse_message_body('{"a":' * 100_000 + "1" + "}" * 100_000)
    assert rejected.value.reason == "body_not_json"


def test_failure_time_is_read_from_the_event() -> None:
    change = parse_message_body(_mutated())
    assert change.failed_at.isoformat() == "2026-11-30T09:14:07+00:00"


@pytest.mark.parametrize(
    ("resources", "found"),
    [(None, "missing"), ([], "empty"), ("arn:aws:imagebuilder:x", "not a list")],
)
def test_the_rejection_says_what_is_wrong_with_resources(resources: object, found: str) -> None:
    event = load_event("distribution-failed.json")
    if resources is None:
        del event["resources"]
    else:
        event["resources"] = resources

    with pytest.raises(MalformedEventError) as rejected:
        parse_message_body(json.dumps(event))

    assert rejected.value.reason == "no_resources"
    assert rejected.value.detail.startswith(f"resources is {found};")
