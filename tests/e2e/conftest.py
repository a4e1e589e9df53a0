"""The end-to-end tests play the demo against the stack the infrastructure tests synthesize."""

from tests.infrastructure.conftest import template

__all__ = ["template"]
