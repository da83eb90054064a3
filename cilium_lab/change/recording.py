"""The progress lines of a change: shown as they happen, and kept for its report."""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[str], None]


def recording(steps: list[str], progress: Progress | None) -> Progress:
    """A progress callback that also keeps each line in `steps` (the report's)."""

    def say(line: str) -> None:
        steps.append(line)
        if progress:
            progress(line)

    return say
