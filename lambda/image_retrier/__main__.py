"""``python -m image_retrier explain|history <image-build-version-arn>``."""

import sys

from image_retrier.operator_cli import main

sys.exit(main())
