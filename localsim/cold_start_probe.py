"""One cold start, in a fresh interpreter: import the handler, serve one SQS record, print JSON.

localsim/lambda_sandbox.py starts it with the function asset on PYTHONPATH, the environment
Lambda gives a traced function and HTTPS stand-ins for AWS. The import and the handler call
are timed; reading the event from its file is not.

    python -S localsim/cold_start_probe.py EVENT_JSON_FILE
"""

import time

start = time.perf_counter()
from image_retrier import handler  # noqa: E402  (the import is what is measured)

imported = time.perf_counter()

import contextlib  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402


class Context:
    function_name = "image-retrier"
    memory_limit_in_mb = 512
    aws_request_id = "cold-start-probe"
    invoked_function_arn = "arn:aws:lambda:us-east-1:111122223333:function:image-retrier"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 120_000


record = {
    "messageId": "cold-start-probe",
    "receiptHandle": "r",
    "body": Path(sys.argv[1]).read_text(),
    "attributes": {},
    "messageAttributes": {},
    "md5OfBody": "",
    "eventSource": "aws:sqs",
    "eventSourceARN": "arn:aws:sqs:us-east-1:111122223333:image-events",
    "awsRegion": "us-east-1",
}
output = io.StringIO()

served = time.perf_counter()
with contextlib.redirect_stdout(output):
    response = handler.lambda_handler({"Records": [record]}, Context())
finished = time.perf_counter()

print(
    json.dumps(
        {
            "seconds": (imported - start) + (finished - served),
            "batch_item_failures": len(response["batchItemFailures"]),
            # What the function must not load (boto3), and whether wrapt's compiled part loaded.
            "imported": [
                name for name in ("boto3", "s3transfer", "wrapt._wrappers") if name in sys.modules
            ],
        }
    )
)
