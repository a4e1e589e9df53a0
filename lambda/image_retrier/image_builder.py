"""The Image Builder calls the retrier makes, with every documented error mapped on purpose."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_imagebuilder import ImagebuilderClient

# Holds a botocore "sdk-extras" file that models CallRateLimitExceededException (HTTP 429) as
# throttling, so botocore's own standard and adaptive retry modes back off and retry it.
BOTOCORE_DATA_PATH = Path(__file__).parent / "botocore_data"

# Worst case per call: 4 attempts x (3 s connect + 10 s read) + 3 backoffs of at most 20 s.
CLIENT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 4},
    connect_timeout=3,
    read_timeout=10,
)

TRANSIENT_ERROR_CODES = frozenset(
    {"CallRateLimitExceededException", "ServiceUnavailableException", "ServiceException"}
)
CONFIGURATION_ERROR_CODES = frozenset(
    {
        "ForbiddenException",
        "ClientException",
        "IdempotentParameterMismatchException",
        # What IAM and service control policies answer, whatever the service models.
        "AccessDeniedException",
    }
)
# GetImage answers these for an image that is gone or cannot be read as an image any more.
IMAGE_GONE_ERROR_CODES = frozenset({"ResourceNotFoundException", "InvalidRequestException"})


class TransientServiceError(Exception):
    """Image Builder could not answer now; the record must come back later."""


class ConfigurationError(Exception):
    """A call was refused in a way only a person can fix (permissions, a logic error)."""

    def __init__(self, error_code: str, message: str) -> None:
        super().__init__(f"{error_code}: {message}")
        self.error_code = error_code


class RetryOutcome(StrEnum):
    REQUESTED = "requested"
    ALREADY_RUNNING = "already_running"
    NOT_RETRYABLE = "not_retryable"


@dataclass(frozen=True)
class RetryResult:
    outcome: RetryOutcome
    detail: str


def create_session() -> botocore.session.Session:
    """A botocore session that also reads the shipped sdk-extras file.

    The function makes its clients with botocore alone: boto3 adds nothing a client needs, and
    importing it (s3transfer, resources) costs a cold start about a tenth. Make all of a
    process's clients from one session: each new session loads botocore's shared data
    (endpoints, partitions, retry rules) again.
    """
    session = botocore.session.get_session()
    session.set_config_variable("data_path", str(BOTOCORE_DATA_PATH))
    return session


def create_client(
    region_name: str | None = None, session: botocore.session.Session | None = None
) -> ImagebuilderClient:
    client = (session or create_session()).create_client(
        "imagebuilder", region_name=region_name, config=CLIENT_CONFIG
    )
    return cast("ImagebuilderClient", client)


class ImageBuilder:
    def __init__(
        self, client: ImagebuilderClient, on_throttled: Callable[[], None] | None = None
    ) -> None:
        self._client = client
        self._on_throttled = on_throttled
        self._counting_throttles = False

    def _calls(self) -> ImagebuilderClient:
        # botocore retries a throttled call by itself; this only counts each throttle. Counted
        # from the first call, so that a client made on first use is not made before it.
        if not self._counting_throttles:
            self._client.meta.events.register("needs-retry.imagebuilder", self._count_throttle)
            self._counting_throttles = True
        return self._client

    def _count_throttle(self, response: Any = None, **_: Any) -> None:
        if self._on_throttled is None or not response:
            return
        http_response, parsed = response
        code = (parsed or {}).get("Error", {}).get("Code")
        if http_response.status_code == 429 or code == "CallRateLimitExceededException":
            self._on_throttled()

    def get_image(self, image_build_version_arn: str) -> dict[str, Any] | None:
        try:
            response = self._calls().get_image(imageBuildVersionArn=image_build_version_arn)
        except ClientError as error:
            if _error_code(error) in IMAGE_GONE_ERROR_CODES:
                return None
            raise _translate(error) from error
        except BotoCoreError as error:
            raise TransientServiceError(str(error)) from error
        return dict(response.get("image") or {})

    def retry_image(self, image_build_version_arn: str, client_token: str) -> RetryResult:
        try:
            response = self._calls().retry_image(
                imageBuildVersionArn=image_build_version_arn, clientToken=client_token
            )
        except ClientError as error:
            code = _error_code(error)
            if code == "ResourceInUseException":
                return RetryResult(RetryOutcome.ALREADY_RUNNING, _message(error))
            if code == "InvalidRequestException":
                return RetryResult(RetryOutcome.NOT_RETRYABLE, _message(error))
            raise _translate(error) from error
        except BotoCoreError as error:
            raise TransientServiceError(str(error)) from error
        return RetryResult(
            RetryOutcome.REQUESTED, response["ResponseMetadata"].get("RequestId", "")
        )


def _translate(error: ClientError) -> Exception:
    code = _error_code(error)
    if code in CONFIGURATION_ERROR_CODES:
        return ConfigurationError(code, _message(error))
    if code in TRANSIENT_ERROR_CODES:
        return TransientServiceError(f"{code}: {_message(error)}")
    return error


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _message(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Message", ""))
