"""How long to wait between two reads while waiting for the cluster: quick at first, then patient.

A rollout or a pod start on a real cluster takes seconds to minutes; polling every few hundred
milliseconds for all of it is needless load on the API server, while a fixed long interval makes
short waits slow. The interval starts at `first` and grows by `factor` up to `cap`.

`checkpoint` is called before and after every pause: a change in progress sets it (see
`change.cancellation`) so a Ctrl-C or SIGTERM stops a wait within one slice, not at its timeout.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

# the first re-read 20 ms after the first: a pod or rollout that is already done costs one more cheap GET, not
# the rest of a 50 ms pause (the series' ~70 waits slept 3.7 s at 50 ms, 1.9 s at 20 ms on the embedded cluster)
FIRST = 0.02
FACTOR = 1.5
CAP = 1.0
SLICE = 0.1  # seconds: the longest a pause sleeps between two checkpoints


def _nothing() -> None:
    return None


checkpoint: Callable[[], None] = _nothing  # raises to end a wait early (a cancelled change)


def intervals(first: float = FIRST, factor: float = FACTOR, cap: float = CAP) -> Iterator[float]:
    delay = first
    while True:
        yield delay
        delay = min(cap, delay * factor)


def pause(delays: Iterator[float], deadline: float) -> None:
    """Sleep the next interval, but never past `deadline` (a `time.monotonic()` value)."""
    end = time.monotonic() + max(0.0, min(next(delays), deadline - time.monotonic()))
    checkpoint()
    while (left := end - time.monotonic()) > 0:
        time.sleep(min(SLICE, left))
        checkpoint()
