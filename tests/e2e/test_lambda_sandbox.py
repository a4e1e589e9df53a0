"""Given the shipped asset in a process set up as Lambda sets up an actively traced function,
when its first event is a distribution failure, then it retries over HTTPS, X-Ray gets every AWS
call, and boto3 is never imported."""

from __future__ import annotations

import pytest

from infra.function_asset import build
from localsim.lambda_sandbox import TRACE_HEADER, Sandbox, XRayDaemon, aws_stand_ins
from tests.conftest import create_aws_resources, load_event, load_image
from tests.unit.test_tokens import PINNED_TOKENS

WEB_SERVER = "arn:aws:imagebuilder:us-east-1:111122223333:image/web-server/1.4.0/3"


@pytest.mark.e2e
def test_a_traced_cold_start_of_the_shipped_asset_retries_and_traces_each_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asset = build()
    daemon = XRayDaemon()
    with aws_stand_ins(asset) as stand_ins:
        with monkeypatch.context() as patch:
            for name, value in stand_ins.environment().items():
                patch.setenv(name, value)
            create_aws_resources()
        stand_ins.image_builder.put_image(load_image("web-server-distribution-timed-out.json"))

        result = Sandbox.create(asset, stand_ins, daemon).cold_start(
            load_event("distribution-failed.json")
        )
    documents = daemon.received()
    daemon.close()

    assert result.batch_item_failures == 0
    (call,) = stand_ins.image_builder.retry_image_calls
    assert (call.image_build_version_arn, call.client_token, call.accepted) == (
        WEB_SERVER,
        PINNED_TOKENS["distribution-failed.json"],
        True,
    )
    assert "boto3" not in result.imported and "s3transfer" not in result.imported
    assert [
        (document["name"], document["aws"]["operation"])
        for document in documents
        if document.get("namespace") == "aws"
    ] == [("imagebuilder", "GetImage"), ("dynamodb", "UpdateItem"), ("imagebuilder", "RetryImage")]
    (handler_segment,) = [d for d in documents if d["name"] == "## lambda_handler"]
    assert handler_segment["annotations"]["ColdStart"] is True
    trace_id = TRACE_HEADER.split(";")[0].removeprefix("Root=")
    assert {document["trace_id"] for document in documents} == {trace_id}
