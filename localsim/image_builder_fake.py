"""A small EC2 Image Builder that answers a real botocore client from inside botocore.

It hooks the client's ``before-send`` event, so requests are built, and responses and
errors parsed, by botocore itself from the service model: error codes, HTTP statuses and
retry behaviour are the ones a deployed function sees. It can also answer over HTTP, as a
WSGI application, for a client in another process (see localsim/lambda_sandbox.py).
"""

from __future__ import annotations

import copy
import json
import threading
import uuid
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit
from wsgiref.util import request_uri

from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.compat import HTTPHeaders

ERROR_STATUS = {
    "AccessDeniedException": 403,
    "ValidationException": 400,
    "CallRateLimitExceededException": 429,
    "ClientException": 400,
    "ForbiddenException": 403,
    "IdempotentParameterMismatchException": 400,
    "InvalidRequestException": 400,
    "ResourceInUseException": 400,
    "ResourceNotFoundException": 404,
    "ServiceException": 500,
    "ServiceUnavailableException": 503,
}

RETRYABLE_STATUSES = frozenset({"FAILED", "CANCELLED"})


@dataclass(frozen=True)
class RetryImageCall:
    image_build_version_arn: str
    client_token: str
    accepted: bool


class _RawBody:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


class ImageBuilderFake:
    """Serves GetImage bodies (the service's JSON) and records every RetryImage call."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # None: an accepted retry resumes the stage that failed, as Image Builder does.
        self.status_after_retry: str | None = None
        # True: every GetImage sees another failed run, as if the image failed again between.
        self.new_run_each_read = False
        # Small pages, so that paging is exercised.
        self.page_size = 2
        self.reset()

    def reset(self) -> None:
        self._images: dict[str, dict[str, Any]] = {}
        self._failed_states: dict[str, dict[str, Any]] = {}
        self._runs = 0
        self._tokens: dict[str, tuple[str, dict[str, Any]]] = {}
        self._queued_errors: dict[str, deque[str]] = {}
        self.requests: list[str] = []
        self.retry_image_calls: list[RetryImageCall] = []

    def attach(self, client: Any) -> None:
        client.meta.events.register("before-send.imagebuilder", self.answer)

    def detach(self, client: Any) -> None:
        client.meta.events.unregister("before-send.imagebuilder", self.answer)

    def put_image(self, get_image_body: Mapping[str, Any]) -> None:
        image = copy.deepcopy(dict(get_image_body["image"]))
        with self._lock:
            self._images[image["arn"]] = image
            if image["state"]["status"] == "FAILED":
                self._failed_states[image["arn"]] = copy.deepcopy(image["state"])

    def set_status(self, image_build_version_arn: str, status: str) -> None:
        """Move the image on. FAILED means a new run failed the same way as the one it was
        served with: the same failure, in a new workflow execution."""
        with self._lock:
            failed_state = self._failed_states.get(image_build_version_arn)
            state = copy.deepcopy(failed_state) if status == "FAILED" and failed_state else None
            if state and "failureContext" in state:
                self._runs += 1
                state["failureContext"]["workflowExecutionId"] = f"wf-run-{self._runs}"
            self._images[image_build_version_arn]["state"] = state or {"status": status}

    def forget_tokens(self) -> None:
        """Image Builder does not document how long it remembers a client token."""
        with self._lock:
            self._tokens.clear()

    def reset_errors(self) -> None:
        with self._lock:
            self._queued_errors.clear()

    def fail_next(self, operation: str, error_code: str, times: int = 1) -> None:
        with self._lock:
            self._queued_errors.setdefault(operation, deque()).extend([error_code] * times)

    @property
    def accepted_retries(self) -> list[RetryImageCall]:
        return [call for call in self.retry_image_calls if call.accepted]

    def wsgi_app(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        """The same answers over HTTP: the request as botocore sent it, the response as built."""
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        request = AWSPreparedRequest(
            environ["REQUEST_METHOD"], request_uri(environ), HTTPHeaders(), body, False
        )
        response = self.answer(request)
        content = response.content
        # With its length given, the connection stays open for the next call, as AWS keeps it.
        headers = [*response.headers.items(), ("Content-Length", str(len(content)))]
        start_response(f"{response.status_code} {HTTPStatus(response.status_code).phrase}", headers)
        return [content]

    def answer(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        url = urlsplit(request.url)
        operation = url.path.rsplit("/", 1)[-1]
        with self._lock:
            self.requests.append(operation)
            queued = self._queued_errors.get(operation)
            if queued:
                return _error(request, queued.popleft(), f"injected {operation} failure")
            if operation == "GetImage":
                arn = parse_qs(url.query).get("imageBuildVersionArn", [""])[0]
                return self._get_image(request, arn)
            if operation == "RetryImage":
                return self._retry_image(request, json.loads(_body_bytes(request)))
            if operation == "ListImagePipelines":
                return self._list_pipelines(request, json.loads(_body_bytes(request)))
            if operation == "ListImagePipelineImages":
                return self._list_pipeline_images(request, json.loads(_body_bytes(request)))
        return _error(request, "ClientException", f"the fake does not serve {operation}")

    def _get_image(self, request: AWSPreparedRequest, arn: str) -> AWSResponse:
        image = self._images.get(arn)
        if image is None:
            return _error(request, "ResourceNotFoundException", f"Image {arn} not found.")
        if self.new_run_each_read and "failureContext" in image["state"]:
            self._runs += 1
            image["state"]["failureContext"]["workflowExecutionId"] = f"wf-run-{self._runs}"
        return _json(request, 200, {"requestId": str(uuid.uuid4()), "image": image})

    def _page(
        self, request: AWSPreparedRequest, key: str, items: list[Any], body: dict[str, Any]
    ) -> AWSResponse:
        start = int(body.get("nextToken") or 0)
        end = start + min(int(body.get("maxResults") or self.page_size), self.page_size)
        page: dict[str, Any] = {"requestId": str(uuid.uuid4()), key: items[start:end]}
        if end < len(items):
            page["nextToken"] = str(end)
        return _json(request, 200, page)

    def _list_pipelines(self, request: AWSPreparedRequest, body: dict[str, Any]) -> AWSResponse:
        arns = sorted({image["sourcePipelineArn"] for image in self._images.values()})
        pipelines = [{"arn": arn, "name": arn.rsplit("/", 1)[-1]} for arn in arns]
        return self._page(request, "imagePipelineList", pipelines, body)

    def _list_pipeline_images(
        self, request: AWSPreparedRequest, body: dict[str, Any]
    ) -> AWSResponse:
        summaries = [
            {
                "arn": image["arn"],
                "name": image["name"],
                "version": image["version"],
                "state": {"status": image["state"]["status"]},
                "dateCreated": image["dateCreated"],
            }
            for image in self._images.values()
            if image["sourcePipelineArn"] == body["imagePipelineArn"]
        ]
        return self._page(request, "imageSummaryList", summaries, body)

    def _retry_image(self, request: AWSPreparedRequest, body: dict[str, Any]) -> AWSResponse:
        arn = body["imageBuildVersionArn"]
        token = body["clientToken"]

        if token in self._tokens:
            original_arn, original_response = self._tokens[token]
            if original_arn != arn:
                return _error(
                    request,
                    "IdempotentParameterMismatchException",
                    "The client token was already used with different parameters.",
                )
            self.retry_image_calls.append(RetryImageCall(arn, token, accepted=False))
            return _json(request, 200, original_response)

        image = self._images.get(arn)
        if image is None:
            return _error(request, "ResourceNotFoundException", f"Image {arn} not found.")
        status = image["state"]["status"]
        if status not in RETRYABLE_STATUSES:
            self.retry_image_calls.append(RetryImageCall(arn, token, accepted=False))
            if status in {"TESTING", "DISTRIBUTING", "INTEGRATING", "BUILDING"}:
                return _error(request, "ResourceInUseException", f"Image {arn} is {status}.")
            return _error(
                request,
                "InvalidRequestException",
                f"Image {arn} is {status} and cannot be retried.",
            )

        response = {
            "requestId": str(uuid.uuid4()),
            "clientToken": token,
            "imageBuildVersionArn": arn,
        }
        self._tokens[token] = (arn, response)
        failed_stage = (image["state"].get("failureContext") or {}).get("imageStatus")
        if self.status_after_retry != "FAILED":
            image["state"] = {"status": self.status_after_retry or failed_stage or "DISTRIBUTING"}
        self.retry_image_calls.append(RetryImageCall(arn, token, accepted=True))
        return _json(request, 200, response)


def _body_bytes(request: AWSPreparedRequest) -> bytes:
    body = request.body
    if body is None:
        return b"{}"
    if isinstance(body, str):
        return body.encode()
    if isinstance(body, bytes | bytearray):
        return bytes(body)
    data = body.read()
    return data.encode() if isinstance(data, str) else data


def _json(request: AWSPreparedRequest, status: int, body: Mapping[str, Any]) -> AWSResponse:
    return AWSResponse(
        request.url,
        status,
        HTTPHeaders.from_dict(
            {"Content-Type": "application/json", "x-amzn-RequestId": str(uuid.uuid4())}
        ),
        _RawBody(json.dumps(body).encode()),
    )


def _error(request: AWSPreparedRequest, code: str, message: str) -> AWSResponse:
    return AWSResponse(
        request.url,
        ERROR_STATUS[code],
        HTTPHeaders.from_dict(
            {
                "Content-Type": "application/json",
                "x-amzn-ErrorType": code,
                "x-amzn-RequestId": str(uuid.uuid4()),
            }
        ),
        _RawBody(json.dumps({"message": message}).encode()),
    )
