"""Given Image Builder answers (through botocore's parser), each documented error is handled
on purpose: transient ones come back later, in-use and invalid are outcomes, the rest refused."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError

from image_retrier.image_builder import (
    CLIENT_CONFIG,
    ConfigurationError,
    ImageBuilder,
    RetryOutcome,
    TransientServiceError,
    create_client,
)
from localsim.image_builder_fake import ImageBuilderFake
from tests.conftest import load_image

ARN = "arn:aws:imagebuilder:us-east-1:111122223333:image/web-server/1.4.0/3"
TOKEN = "f50a9535-04ec-5a0b-b07d-7788287f5d66"


@pytest.fixture
def fake() -> Iterator[ImageBuilderFake]:
    fake = ImageBuilderFake()
    fake.put_image(load_image("web-server-distribution-timed-out.json"))
    yield fake


@pytest.fixture
def image_builder(fake: ImageBuilderFake, monkeypatch: pytest.MonkeyPatch) -> ImageBuilder:
    # botocore sleeps between its own retries; the schedule is botocore's, not ours to wait for.
    monkeypatch.setattr("time.sleep", lambda _seconds: None)
    client = create_client("us-east-1")
    fake.attach(client)
    return ImageBuilder(client)


def test_get_image_returns_the_parsed_failure_context(image_builder: ImageBuilder) -> None:
    image = image_builder.get_image(ARN)

    assert image is not None
    assert image["state"]["failureContext"]["imageStatus"] == "DISTRIBUTING"
    region_failure = image["state"]["failureContext"]["distributionFailure"]["regionFailures"][0]
    assert region_failure["status"] == "TIMED_OUT"


def test_image_that_does_not_exist_reads_as_none(image_builder: ImageBuilder) -> None:
    assert image_builder.get_image(ARN.replace("/3", "/99")) is None


def test_rate_limit_429_is_retried_by_botocore_with_backoff(
    image_builder: ImageBuilder, fake: ImageBuilderFake
) -> None:
    fake.fail_next("RetryImage", "CallRateLimitExceededException", times=2)

    result = image_builder.retry_image(ARN, TOKEN)

    assert result.outcome is RetryOutcome.REQUESTED
    assert fake.requests.count("RetryImage") == 3
    assert len(fake.accepted_retries) == 1


@pytest.mark.parametrize(
    "code", ["CallRateLimitExceededException", "ServiceUnavailableException", "ServiceException"]
)
def test_persistent_transient_errors_surface_as_transient(
    image_builder: ImageBuilder, fake: ImageBuilderFake, code: str
) -> None:
    fake.fail_next("RetryImage", code, times=10)

    with pytest.raises(TransientServiceError, match=code):
        image_builder.retry_image(ARN, TOKEN)

    assert fake.requests.count("RetryImage") == CLIENT_CONFIG.retries["total_max_attempts"]
    assert fake.accepted_retries == []


def test_resource_in_use_means_a_retry_is_already_running(
    image_builder: ImageBuilder, fake: ImageBuilderFake
) -> None:
    fake.fail_next("RetryImage", "ResourceInUseException")
    assert image_builder.retry_image(ARN, TOKEN).outcome is RetryOutcome.ALREADY_RUNNING


def test_invalid_request_means_the_image_cannot_be_retried(
    image_builder: ImageBuilder, fake: ImageBuilderFake
) -> None:
    fake.set_status(ARN, "AVAILABLE")
    result = image_builder.retry_image(ARN, TOKEN)
    assert result.outcome is RetryOutcome.NOT_RETRYABLE
    assert "cannot be retried" in result.detail


@pytest.mark.parametrize(
    "code",
    [
        "ForbiddenException",
        "ClientException",
        "IdempotentParameterMismatchException",
        "AccessDeniedException",
    ],
)
def test_refusals_only_a_person_can_fix_are_configuration_errors(
    image_builder: ImageBuilder, fake: ImageBuilderFake, code: str
) -> None:
    fake.fail_next("RetryImage", code)

    with pytest.raises(ConfigurationError) as refused:
        image_builder.retry_image(ARN, TOKEN)

    assert refused.value.error_code == code
    assert fake.requests.count("RetryImage") == 1


def test_same_token_for_another_image_is_an_idempotency_mismatch(
    image_builder: ImageBuilder, fake: ImageBuilderFake
) -> None:
    other = load_image("web-server-distribution-timed-out.json")
    other["image"]["arn"] = ARN.replace("/3", "/4")
    fake.put_image(other)
    image_builder.retry_image(ARN, TOKEN)

    with pytest.raises(ConfigurationError, match="IdempotentParameterMismatchException"):
        image_builder.retry_image(other["image"]["arn"], TOKEN)


def test_get_image_errors_are_mapped_the_same_way(
    image_builder: ImageBuilder, fake: ImageBuilderFake
) -> None:
    fake.fail_next("GetImage", "ForbiddenException")
    with pytest.raises(ConfigurationError):
        image_builder.get_image(ARN)

    fake.fail_next("GetImage", "ServiceUnavailableException", times=10)
    with pytest.raises(TransientServiceError):
        image_builder.get_image(ARN)


def test_get_image_invalid_request_reads_as_an_image_that_is_gone(
    image_builder: ImageBuilder, fake: ImageBuilderFake
) -> None:
    fake.fail_next("GetImage", "InvalidRequestException")
    assert image_builder.get_image(ARN) is None


def test_undocumented_errors_are_not_swallowed(
    image_builder: ImageBuilder, fake: ImageBuilderFake
) -> None:
    fake.fail_next("RetryImage", "ValidationException")
    with pytest.raises(ClientError):
        image_builder.retry_image(ARN, TOKEN)


def test_each_throttled_call_is_counted_while_botocore_retries_it(
    fake: ImageBuilderFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("time.sleep", lambda _seconds: None)
    throttles: list[int] = []
    client = create_client("us-east-1")
    fake.attach(client)
    image_builder = ImageBuilder(client, on_throttled=lambda: throttles.append(1))
    fake.fail_next("RetryImage", "CallRateLimitExceededException", times=2)

    image_builder.retry_image(ARN, TOKEN)

    assert len(throttles) == 2
