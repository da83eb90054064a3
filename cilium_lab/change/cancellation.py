"""Ctrl-C and SIGTERM during a change: the first cancels it (it is rolled back), a second stops the rollback.

`guard(say)` is a context manager that a change runs inside. In the main thread it installs SIGINT and
SIGTERM handlers for its duration (and puts the old ones back after): the first signal only sets the
cancelled flag and says so; the change raises `Interrupted` at its next `checkpoint()` (between two
steps, and in every rollout or pod wait through `cluster.polling.checkpoint`). Once the rollback runs,
checkpoints no longer raise; a second signal raises `HardStop` wherever the code is, which ends the
rollback, and the journal then says what is left. In a notebook the kernel receives SIGINT for an
interrupted cell, so the same handler serves it; a `KeyboardInterrupt` raised some other way (a
handler installed by someone else, a thread that is not the main one) counts as the first interrupt.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType

from cilium_lab import exit_codes
from cilium_lab.cluster import polling

EXIT_CODES = {"SIGINT": exit_codes.SIGINT, "SIGTERM": exit_codes.SIGTERM}


class Interrupted(Exception):
    """The change was cancelled by a first Ctrl-C or SIGTERM (`signal` names it); it is rolled back."""

    def __init__(self, signal_name: str = "SIGINT") -> None:
        super().__init__(f"interrupted by {signal_name}")
        self.signal = signal_name


class HardStop(BaseException):
    """A second signal: the rollback stops where it is (a BaseException, so no `except Exception` eats it)."""

    def __init__(self, signal_name: str = "SIGINT") -> None:
        super().__init__(f"stopped by a second {signal_name}")
        self.signal = signal_name


@dataclass
class Cancellation:
    """The state of one change: whether a signal cancelled it, and whether its rollback runs."""

    say: Callable[[str], None]
    cancelled: str = ""  # the first signal's name, "" while none came
    undoing: bool = False
    # raises when the change lease is no longer ours (`lock.Lock.check`): the change stops and is undone
    lease_check: Callable[[], None] | None = None

    def cancel(self, signal_name: str) -> None:
        if self.cancelled:
            self.say(f"{signal_name} again: stopping the rollback where it is")
            raise HardStop(signal_name)
        self.cancelled = signal_name
        what = "rolling back" if self.undoing else "cancelling the change; it is rolled back"
        self.say(f"{signal_name}: {what} (a second Ctrl-C stops the rollback and leaves it unfinished)")

    def checkpoint(self) -> None:
        """Raise `Interrupted` if a signal came, or `LeaseLost` if the lease was lost, while the change is
        still going forward (the undo is never stopped by either)."""
        if self.undoing:
            return
        if self.cancelled:
            raise Interrupted(self.cancelled)
        if self.lease_check is not None:
            self.lease_check()


@contextmanager
def guard(say: Callable[[str], None]) -> Iterator[Cancellation]:
    token = Cancellation(say)
    installed: dict[int, object] = {}
    if threading.current_thread() is threading.main_thread():

        def handler(signum: int, _frame: FrameType | None) -> None:
            token.cancel(signal.Signals(signum).name)

        for sig in (signal.SIGINT, signal.SIGTERM):
            installed[sig] = signal.signal(sig, handler)
    previous, polling.checkpoint = polling.checkpoint, token.checkpoint
    try:
        yield token
    finally:
        polling.checkpoint = previous
        for sig, old in installed.items():
            signal.signal(sig, old)  # type: ignore[arg-type]
