"""The function's cold start, kept short: Python's cyclic garbage collector waits from the
handler's import to the end of its first event, then what they made is frozen out of its way."""

from __future__ import annotations

import gc


class ColdStart:
    """Holds the collector off from its creation (the first thing the handler's import does)
    until `end()`. What a cold start makes (Powertools, botocore's models, the clients of the
    first event) lives as long as the process: collecting over and over while it is made only
    walks it, a twentieth of the cold start (docs/benchmarks.md)."""

    def __init__(self) -> None:
        # A process whose collector is off already (a debugger, a test) is left as it is.
        self._holding = gc.isenabled()
        gc.disable()

    @property
    def holding(self) -> bool:
        return self._holding

    def end(self) -> None:
        """Freeze what the cold start made and let the collector run again; later calls do
        nothing."""
        if self._holding:
            self._holding = False
            gc.freeze()
            gc.enable()
