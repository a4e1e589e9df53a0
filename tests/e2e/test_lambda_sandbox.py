"""Given the shipped asset in a process set up as Lambda sets up an actively traced function,
when its first event is a distribution failure, then it retries and X-Ray gets every AWS call."""

from __future__ import annotations

import pytest

from infra.function_asset import build
from localsim.lambda_sandbox import TRACE_HEADER, Sandbox, XRayDaemon, moto_server
from tests.conftest import create_aws_resources, load_event, load_image


@pytest.mark.e2e
def test_a_traced_cold_start_of_the_shipped_asset_retries_and_traces_each_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    daemon = XRayDaemon()
    with moto_server() as endpoint:
        with monkeypatch.context() as patch:
            patch.setenv("AWS_ENDPOINT_URL", endpoint)
            create_aws_resources()
        sandbox = Sandbox.create(build(), endpoint, daemon)

        result = sandbox.cold_start(
            load_event("distribution-failed.json"),
            load_image("web-server-distribution-timed-out.json"),
        )
    documents = daemon.received()
    daemon.close()

    assert (result.batch_item_failures, result.retries_accepted) == (0, 1)
    assert [
        (document["name"], document["aws"]["operation"])
        for document in documents
        if document.get("namespace") == "aws"
    ] == [("imagebuilder", "GetImage"), ("dynamodb", "UpdateItem"), ("imagebuilder", "RetryImage")]
    (handler_segment,) = [d for d in documents if d["name"] == "## lambda_handler"]
    assert handler_segment["annotations"]["ColdStart"] is True
    trace_id = TRACE_HEADER.split(";")[0].removeprefix("Root=")
    assert {document["trace_id"] for document in documents} == {trace_id}
