"""One cold start, in a fresh interpreter: import the handler, serve one SQS record, print JSON.

localsim/lambda_sandbox.py starts it with the function asset first on PYTHONPATH and the
environment Lambda gives a traced function. Only the import and the handler call are timed (the
stand-ins' answers included); putting the image into the Image Builder fake is not.

    python -S localsim/cold_start_probe.py EVENT_JSON_FILE GET_IMAGE_JSON_FILE
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

from localsim.image_builder_fake import ImageBuilderFake  # noqa: E402


class Context:
    function_name = "image-retrier"
    memory_limit_in_mb = 512
    aws_request_id = "cold-start-probe"
    invoked_function_arn = "arn:aws:lambda:us-east-1:111122223333:function:image-retrier"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 120_000


event_body = Path(sys.argv[1]).read_text()
fake = ImageBuilderFake()
fake.put_image(json.loads(Path(sys.argv[2]).read_text()))
fake.attach(handler.image_builder_client)
record = {
    "messageId": "cold-start-probe",
    "receiptHandle": "r",
    "body": event_body,
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
            "calls": fake.requests,
            "retries_accepted": len(fake.accepted_retries),
        }
    )
)
