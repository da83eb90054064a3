"""Several commands in one exec: a POSIX sh script that frames each command's stdout.

An exec is a round trip through the API server and the kubelet (tens to hundreds of milliseconds on
a real cluster); reading a dozen facts from a node one exec at a time costs a dozen. `script` builds
one `sh -c` script that runs each command (stderr dropped) and marks where its output starts and
whether it succeeded; `parse` splits the output again. Used by `cluster.snapshot` (agent pods) and
`change.host.host_node` (privileged host pods).
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

MARK = "@@cilium-lab"


@dataclass(frozen=True)
class Output:
    stdout: str
    ok: bool

    @property
    def value(self) -> str | None:
        """The output of a command that succeeded; None otherwise."""
        return self.stdout if self.ok else None


def script(commands: Mapping[str, Sequence[str] | str]) -> str:
    """A POSIX sh script that runs each command and frames its stdout (stderr is dropped)."""
    parts = []
    for key, argv in commands.items():
        line = argv if isinstance(argv, str) else " ".join(shlex.quote(a) for a in argv)
        parts.append(f"echo '{MARK} {key}'; {line} 2>/dev/null && echo '{MARK}-ok' || echo '{MARK}-failed'")
    return "; ".join(parts)


def parse(text: str, commands: Mapping[str, Sequence[str] | str]) -> dict[str, Output]:
    found: dict[str, Output] = {}
    key, lines = None, []
    for line in text.splitlines():
        if line.startswith(f"{MARK} ") and line[len(MARK) + 1 :] in commands:
            key, lines = line[len(MARK) + 1 :], []
        elif key is not None and line in (f"{MARK}-ok", f"{MARK}-failed"):
            found[key] = Output("\n".join(lines) + ("\n" if lines else ""), line.endswith("-ok"))
            key = None
        elif key is not None:
            lines.append(line)
    return {k: found.get(k, Output("", False)) for k in commands}
