"""Cilium release versions: parse, compare, and ask which minor release a cluster runs.

Called by `settings` (which keys and values a version accepts), the catalogue and the labs; calls
only `cilium_lab.errors`. Accepts what Cilium prints: "1.13.4", "v1.14.0-snapshot.4",
"1.17.0-dev", "1.16.0-pre.2", "1.15.1-a368c8f0" and "v1.14.0-snapshot.4-6c8db759" (a trailing
hex part of 7+ digits is the git commit of the build, ignored when comparing), and "1.16" for a
minor line. Pre-releases sort before their release; among them dev < snapshot < pre < rc, which
is the order Cilium publishes them in, then anything else by semver rules.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from cilium_lab.errors import InputError

_PATTERN = re.compile(r"v?([0-9]+)\.([0-9]+)(?:\.([0-9]+))?((?:-[0-9A-Za-z.]+)*)")
_COMMIT = re.compile(r"[0-9a-f]{7,40}")
_STAGES = {"dev": 0, "snapshot": 1, "pre": 2, "rc": 3}
ACCEPTED_FORM = "MAJOR.MINOR[.PATCH][-PRERELEASE][-COMMIT], e.g. 1.13.4, v1.14.0-snapshot.4, 1.17.0-dev"


def _identifier_key(identifier: str) -> tuple[int, int, str]:
    """Semver identifier order: numbers numerically and before words; known stages by release order."""
    if identifier.isdigit():
        return (0, int(identifier), "")
    return (1, _STAGES.get(identifier, len(_STAGES)), identifier)


@functools.total_ordering
@dataclass(frozen=True, eq=False)
class CiliumVersion:
    """A Cilium version; equality, ordering and hashing ignore the build commit."""

    major: int
    minor: int
    patch: int = 0
    prerelease: str = ""  # "snapshot.4", "dev", "pre.2", "rc.1"; empty for a release
    build: str = ""  # git commit suffix, "a368c8f0"

    @classmethod
    def parse(cls, text: str | CiliumVersion) -> CiliumVersion:
        """Parse a version string; raise InputError naming the accepted form."""
        if isinstance(text, CiliumVersion):
            return text
        match = _PATTERN.fullmatch(text.strip()) if isinstance(text, str) else None
        if not match:
            raise InputError(f"not a Cilium version: {text!r}; expected {ACCEPTED_FORM}")
        major, minor, patch, suffix = match.groups()
        parts = [part for part in suffix.split("-") if part]
        build = parts.pop() if parts and _COMMIT.fullmatch(parts[-1]) else ""
        return cls(int(major), int(minor), int(patch or 0), "-".join(parts), build)

    @property
    def minor_tuple(self) -> tuple[int, int]:
        return (self.major, self.minor)

    @property
    def is_release(self) -> bool:
        return not self.prerelease

    def _key(self) -> tuple[object, ...]:
        stage = tuple(_identifier_key(part) for part in re.split(r"[.-]", self.prerelease) if part)
        # A release (no pre-release) sorts after every pre-release of the same version.
        return (self.major, self.minor, self.patch, not self.prerelease, stage)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CiliumVersion):
            return NotImplemented
        return self._key() == other._key()

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, CiliumVersion):
            return NotImplemented
        return self._key() < other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __str__(self) -> str:
        suffix = "".join(f"-{part}" for part in (self.prerelease, self.build) if part)
        return f"{self.major}.{self.minor}.{self.patch}{suffix}"
