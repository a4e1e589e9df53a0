"""Operator commands, read-only, with the caller's own AWS credentials and region.

``explain`` prints what the deployed retrier would decide for an image now, and why;
``history`` prints the ledger's record of the image. The deployed function's environment
is the source of the settings, so the answer is the one the function would give.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

import boto3
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

from image_retrier.classification import classify
from image_retrier.decision import Decision, decide
from image_retrier.events import IMAGE_BUILD_VERSION_ARN, ImageStateChange
from image_retrier.image_builder import ConfigurationError, ImageBuilder, create_client
from image_retrier.inspection import inspect_image
from image_retrier.ledger import AttemptLedger
from image_retrier.settings import (
    Resources,
    RetrierSettings,
    SettingsError,
    resources_from_environment,
    settings_from_environment,
)

DEFAULT_STACK = "ImageRetrier"


class OperatorError(Exception):
    """A problem the operator can fix; printed as one line, exit status 2."""


@dataclass(frozen=True)
class Deployment:
    settings: RetrierSettings
    resources: Resources


def find_deployment(
    session: boto3.Session, stack_name: str, function_name: str | None
) -> Deployment:
    if function_name is None:
        function_name = _stack_function(session, stack_name)
    try:
        configuration = session.client("lambda").get_function_configuration(
            FunctionName=function_name
        )
    except ClientError as error:
        raise OperatorError(
            f"cannot read the retrier function {function_name}: {_message(error)}"
        ) from None
    environment: Mapping[str, str] = configuration.get("Environment", {}).get("Variables", {})
    try:
        return Deployment(
            settings_from_environment(environment), resources_from_environment(environment)
        )
    except SettingsError as error:
        raise OperatorError(f"{function_name} is not an image retrier function: {error}") from None


def _stack_function(session: boto3.Session, stack_name: str) -> str:
    try:
        resources = session.client("cloudformation").describe_stack_resources(StackName=stack_name)[
            "StackResources"
        ]
    except ClientError as error:
        raise OperatorError(
            f"stack {stack_name} not found in {session.region_name}: {_message(error)} "
            "(pass --stack-name or --function-name)"
        ) from None
    # The event path's function; the sweeper's shares its settings but not its name.
    functions = [
        resource["PhysicalResourceId"]
        for resource in resources
        if resource["ResourceType"] == "AWS::Lambda::Function"
        and resource["LogicalResourceId"].startswith("RetrierFunction")
    ]
    if len(functions) != 1:
        raise OperatorError(f"stack {stack_name} holds no single retrier function")
    return str(functions[0])


def _message(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Message") or error)


def _ledger_item(session: boto3.Session, deployment: Deployment, arn: str) -> dict[str, Any] | None:
    ledger = AttemptLedger(
        session.client("dynamodb"),
        deployment.resources.ledger_table_name,
        deployment.resources.ledger_ttl_days,
    )
    try:
        return ledger.history(arn)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            raise OperatorError(
                f"the ledger table {deployment.resources.ledger_table_name} does not exist"
            ) from None
        raise


def explain(session: boto3.Session, deployment: Deployment, arn: str, out: TextIO) -> None:
    try:
        image = ImageBuilder(create_client(session.region_name)).get_image(arn)
    except ConfigurationError as error:
        raise OperatorError(f"Image Builder refused GetImage: {error}") from None
    if image is None:
        raise OperatorError(f"the image {arn} does not exist")
    item = _ledger_item(session, deployment, arn)
    settings = deployment.settings

    status = image.get("state", {}).get("status", "UNKNOWN")
    change = ImageStateChange(
        event_id="explain",
        event_time=datetime.now(UTC).isoformat(),
        failed_at=datetime.now(UTC),
        region=arn.split(":")[3],
        account=arn.split(":")[4],
        image_build_version_arn=arn,
        status="FAILED",
        previous_status=None,
        reason=None,
    )
    inspection = inspect_image(image, change)
    scope = settings.scope.check(image)
    classification = (
        classify(inspection, settings.cause_rules)
        if inspection.failure_stage == "DISTRIBUTING" and inspection.image_status == "FAILED"
        else None
    )
    decision = decide(change, inspection, settings, classification, scope)
    attempts = int(item["attempts"]["N"]) if item and "attempts" in item else 0
    outcome = item["outcome"]["S"] if item and "outcome" in item else None

    print(f"image:         {arn}", file=out)
    print(f"status:        {status}", file=out)
    print(f"pipeline:      {inspection.pipeline_arn or 'unknown'}", file=out)
    print(f"failure stage: {inspection.failure_stage} (from {inspection.stage_source})", file=out)
    if classification:
        print(f"cause:         {classification.failure_class.value}", file=out)
        for verdict in classification.verdicts:
            print(
                f"  region {verdict.region or '?'} account {verdict.target_account_id or '?'}: "
                f"{verdict.failure_class.value} ({verdict.rule or 'no rule matched'}) "
                f"{verdict.message[:160]}",
                file=out,
            )
            if verdict.fix:
                print(f"    what to change: {verdict.fix}", file=out)
    print(f"scope:         {scope or 'in scope'}", file=out)
    print(f"attempts:      {attempts} of {settings.max_attempts}", file=out)
    if outcome:
        print(f"ledger:        {outcome}", file=out)
    print(f"decision:      {decision.decision.value} ({decision.reason})", file=out)
    print(f"next:          {_next_step(decision.decision, attempts, settings, outcome)}", file=out)


def _next_step(
    decision: Decision, attempts: int, settings: RetrierSettings, outcome: str | None
) -> str:
    if decision is Decision.RETRY and settings.dry_run:
        return "dry run: a failure event would be logged as a retry, without calling RetryImage"
    if decision is Decision.RETRY and attempts >= settings.max_attempts:
        return "the budget is spent: the next failure event gives up (one notification)"
    if decision is Decision.RETRY:
        return f"the next failure event takes attempt {attempts + 1} of {settings.max_attempts}"
    if decision is Decision.NEEDS_FIX:
        told = " (already sent)" if outcome == "needs_fix" else ""
        return f"no retry; a person is told what to fix{told}"
    return "nothing: the retrier leaves this image alone"


def history(session: boto3.Session, deployment: Deployment, arn: str, out: TextIO) -> None:
    item = _ledger_item(session, deployment, arn)
    if item is None:
        print(f"The ledger has no record of {arn}: the retrier never acted on it.", file=out)
        return
    print(f"image:         {arn}", file=out)
    for label, key in (
        ("outcome", "outcome"),
        ("last decision", "last_decision"),
        ("last reason", "last_reason"),
        ("last cause", "last_cause"),
        ("updated", "updated_at"),
    ):
        if key in item:
            print(f"{label + ':':<15}{item[key]['S']}", file=out)
    attempts = int(item.get("attempts", {}).get("N", "0"))
    print(f"{'attempts:':<15}{attempts}", file=out)
    for number, entry in enumerate(item.get("attempt_log", {}).get("L", []), start=1):
        fields = {name: value["S"] for name, value in entry["M"].items()}
        print(
            f"  {number}. event {fields.get('event_id')} token {fields.get('client_token')} "
            f"reserved {fields.get('reserved_at')}",
            file=out,
        )
    for notice in ("gave_up", "needs_fix"):
        if f"{notice}_notice" in item:
            print(f"{notice} notice: {item[f'{notice}_notice']['S']}", file=out)


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m image_retrier", description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument("command", choices=["explain", "history"])
    parser.add_argument("image_build_version_arn")
    parser.add_argument("--stack-name", default=DEFAULT_STACK)
    parser.add_argument("--function-name", help="the retrier function, instead of the stack's")
    parser.add_argument("--region", help="defaults to the region of your AWS configuration")
    args = parser.parse_args(argv)

    try:
        if not IMAGE_BUILD_VERSION_ARN.match(args.image_build_version_arn):
            raise OperatorError(
                f"{args.image_build_version_arn!r} is not an image build version ARN "
                "(arn:<partition>:imagebuilder:<region>:<account>:image/<name>/<x.y.z>/<build>)"
            )
        image_region = args.image_build_version_arn.split(":")[3]
        if args.region and args.region != image_region:
            raise OperatorError(
                f"the image is in {image_region}, not {args.region}: the retrier that handles it "
                "is deployed there; leave out --region"
            )
        # The image's region is where its retrier, ledger and function are.
        session = boto3.Session(region_name=image_region)
        if session.get_credentials() is None:
            raise NoCredentialsError()
        deployment = find_deployment(session, args.stack_name, args.function_name)
        command = explain if args.command == "explain" else history
        command(session, deployment, args.image_build_version_arn, out)
    except OperatorError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except NoCredentialsError:
        print("error: no AWS credentials; configure a profile or set AWS_PROFILE", file=sys.stderr)
        return 2
    except NoRegionError:
        print("error: no AWS region; pass --region or set AWS_DEFAULT_REGION", file=sys.stderr)
        return 2
    except (ClientError, BotoCoreError) as error:
        print(f"error: AWS refused a read: {error}", file=sys.stderr)
        return 2
    return 0
