"""The function's cold start, kept short: Python's cyclic garbage collector waits from the
handler's import to the end of its first invocation, then what they made is frozen out of its
way."""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


class CollectorHold:
    """Holds the collector off from its creation (the first thing the handler's import does)
    until `release()`. What a cold start makes (Powertools, botocore's models, the clients of the
    first event) lives as long as the process: collecting over and over while it is made only
    walks through it, about a sixteenth of the cold start (docs/benchmarks.md)."""

    def __init__(self) -> None:
        # A process whose collector is off already (a debugger, a test) is left as it is.
        self._holding = gc.isenabled()
        gc.disable()

    def release(self) -> None:
        """Freeze what the cold start made and let the collector run again; later calls do
        nothing."""
        if self._holding:
            self._holding = False
            gc.freeze()
            gc.enable()

    def released_after(self, entry_point: Callable[P, R]) -> Callable[P, R]:
        """`entry_point`, releasing the hold when its first call returns or raises. Outermost
        on every Lambda entry point of the function, so that whichever runs first releases it,
        even when a decorator beneath raises before the body runs."""

        @functools.wraps(entry_point)
        def entered(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return entry_point(*args, **kwargs)
            finally:
                self.release()

        return entered
