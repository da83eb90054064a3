"""How long to wait between two reads while waiting for the cluster: quick at first, then patient.

A rollout or a pod start on a real cluster takes seconds to minutes; polling every few hundred
milliseconds for all of it is needless load on the API server, while a fixed long interval makes
short waits slow. The interval starts at `first` and grows by `factor` up to `cap`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

FIRST = 0.05
FACTOR = 1.5
CAP = 1.0


def intervals(first: float = FIRST, factor: float = FACTOR, cap: float = CAP) -> Iterator[float]:
    delay = first
    while True:
        yield delay
        delay = min(cap, delay * factor)


def pause(delays: Iterator[float], deadline: float) -> None:
    """Sleep the next interval, but never past `deadline` (a `time.monotonic()` value)."""
    time.sleep(max(0.0, min(next(delays), deadline - time.monotonic())))
