"""Progress for long measurements: a time estimate logged before starting, a bar, a closing line.

Called by `bench.runner` (and any long loop in a lab); calls tqdm and the `cilium_lab` logger.
`tqdm.auto` shows a widget in notebooks and text on a terminal; in batch runs (papermill, CI) a
widget's saved text stays at 0 %, so `interactive=False` uses plain text bars and every run ends
with one summary line that logs and HTML exports keep (notebook-practice.md §6).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tqdm import std as tqdm_std
from tqdm.auto import tqdm as tqdm_auto

log = logging.getLogger("cilium_lab")

DEFAULT_OVERHEAD = 2.0  # s per sample outside netperf itself: exec round trip, process start, handshake


def estimate_seconds(
    *, samples: int, tests: int, duration: float, overhead: float = DEFAULT_OVERHEAD
) -> float:
    """samples x tests x (duration + overhead), the wall time a measurement should take."""
    return float(samples * tests * (duration + overhead))


def describe_estimate(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"


def announce(
    what: str, *, samples: int, tests: int, duration: float, overhead: float = DEFAULT_OVERHEAD
) -> float:
    """Log one line with the estimate before a measurement starts; returns the estimate in seconds."""
    seconds = estimate_seconds(samples=samples, tests=tests, duration=duration, overhead=overhead)
    log.info(
        "%s: %d sample(s) x %d test(s) x (%g s + ~%g s overhead): about %s",
        what,
        samples,
        tests,
        duration,
        overhead,
        describe_estimate(seconds),
    )
    return seconds


@contextmanager
def bar(total: int, *, desc: str, enabled: bool = True, interactive: bool = True) -> Iterator[Any]:
    """A progress bar of `total` steps (call `.update(1)`); disabled, it still counts silently."""
    factory = tqdm_auto if interactive else tqdm_std.tqdm
    options: dict[str, Any] = {"total": total, "desc": desc, "disable": not enabled, "leave": True}
    if not interactive:
        options |= {"file": sys.stdout, "mininterval": 30.0}
    progress = factory(**options)
    try:
        yield progress
    finally:
        progress.close()
        if enabled:
            log.info("%s: %d of %d done", desc, progress.n, total)
