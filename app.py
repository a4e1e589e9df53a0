#!/usr/bin/env python3
"""CDK app: one retrier stack, configured by context values, checked by cdk-nag."""

from __future__ import annotations

import os
import sys

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from infra.function_asset import FunctionAssetError, build
from infra.retrier_stack import RetrierStack
from infra.settings import ContextError, StackSettings


def main() -> None:
    app = cdk.App()
    try:
        settings = StackSettings.from_context(app.node.get_all_context())
        code_dir = build()
    except (ContextError, FunctionAssetError) as error:
        sys.exit(f"error: {error}")

    RetrierStack(
        app,
        "ImageRetrier",
        settings=settings,
        code_dir=code_dir,
        description="Retries EC2 Image Builder distributions that failed (RetryImage)",
        env=cdk.Environment(
            account=os.environ.get("CDK_DEFAULT_ACCOUNT"),
            region=os.environ.get("CDK_DEFAULT_REGION"),
        ),
    )
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    try:
        app.synth()
    except RuntimeError as error:
        # cdk-nag has printed each finding above; the jsii traceback would only bury them.
        sys.exit(f"error: {error}")


if __name__ == "__main__":
    main()
