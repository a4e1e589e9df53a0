"""Lambda entry point of the scheduled sweeper; shares the retrier's clients and settings."""

from __future__ import annotations

import os
from dataclasses import asdict
from datetime import timedelta
from typing import Any

# First: the handler's first statement holds the collector off (cold_start.py) for everything
# the import loads after it.
from image_retrier.handler import (
    collector_hold,
    image_builder_client,
    ledger,
    logger,
    metrics,
    retrier,
    tracer,
)

# isort: split
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from image_retrier.sweeper import Sweeper

sweeper = Sweeper(
    client=image_builder_client,
    retrier=retrier,
    ledger=ledger,
    look_back=timedelta(hours=int(os.environ["SWEEP_LOOK_BACK_HOURS"])),
    clock=lambda: retrier.clock(),
)


# The handler's import holds the collector off; the sweeper's first invocation releases it.
@collector_hold.released_after
@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    report = sweeper.sweep(context.get_remaining_time_in_millis)
    logger.info("sweep finished", **asdict(report))
    metrics.add_metric("SweptImages", MetricUnit.Count, len(report.swept))
    metrics.add_metric("SweepStoppedEarly", MetricUnit.Count, int(report.stopped_early))
    return asdict(report)
