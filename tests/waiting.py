"""Polling for tests that watch the embedded cluster converge (controllers run on their own ticks)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(check: Callable[[], T], timeout: float = 15.0) -> T:
    """The first truthy result of `check`, polled every 50 ms; AssertionError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.05)
    raise AssertionError(f"condition not met within {timeout}s")
