"""Linux kernel versions as nodes report them, compared the way Cilium's kernel thresholds need.

Called by `catalog` (readiness: "kernel >= 5.10 for BPF host routing") and by the labs and snapshot
code that show a node's kernel. Calls nothing but `errors`.

A node reports a *release string* (`uname -r`, Kubernetes `status.nodeInfo.kernelVersion`):
"6.2.0-39-generic", "4.19.0-25-arm64", "4.18.0-477.10.1.el8_8.x86_64", "6.6.30-talos". Only the
leading "major.minor[.patch]" is upstream's; the rest is the distribution's and is kept but never
compared. Some distributions put their ABI number where the patch level would be: Debian's
"4.19.0-25-arm64" is upstream 4.19.289, which only `uname -v` shows ("#1 SMP Debian 4.19.289-2
(2023-08-08)"); see reference/cilium-tuning.md A.3. `parse_kernel(release, build)` takes the patch
level from the build string when it names the same major.minor with a higher patch. Without it the
release's own number is used, which is a lower bound, so a threshold check can only err on the
cautious side. Enterprise kernels (RHEL "4.18.0-...el8") backport features without changing the
number; a check on the number is then cautious too.

The preemption model (reference A.2: the guide recommends CONFIG_PREEMPT_NONE for servers) is read
from `uname -v`, which names it for some models only:
  "rt"                 PREEMPT_RT in the build string
  "dynamic"            PREEMPT_DYNAMIC: chosen at boot (`preempt=`), see /sys/kernel/debug/sched/preempt
  "full"               a bare PREEMPT (CONFIG_PREEMPT=y)
  "none-or-voluntary"  no PREEMPT word: CONFIG_PREEMPT_NONE or _VOLUNTARY, which uname cannot tell apart
  None                 no build string was given
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from cilium_lab.errors import InputError

__all__ = [
    "PREEMPT_DYNAMIC",
    "PREEMPT_FULL",
    "PREEMPT_NONE_OR_VOLUNTARY",
    "PREEMPT_RT",
    "KernelVersion",
    "parse_kernel",
    "preemption_model",
]

PREEMPT_RT = "rt"
PREEMPT_DYNAMIC = "dynamic"
PREEMPT_FULL = "full"
PREEMPT_NONE_OR_VOLUNTARY = "none-or-voluntary"

_RELEASE = re.compile(r"(?P<major>\d+)\.(?P<minor>\d+)(?:\.(?P<patch>\d+))?(?P<suffix>.*)", re.DOTALL)
_PREEMPT_RT = re.compile(r"\bPREEMPT[_ ]RT\b")
_PREEMPT_DYNAMIC = re.compile(r"\bPREEMPT_DYNAMIC\b")
_PREEMPT_BARE = re.compile(r"\bPREEMPT\b")  # scripts/mkcompile_h appends SMP, then one PREEMPT word


@dataclass(frozen=True, order=True)
class KernelVersion:
    """An upstream kernel version; equality and ordering look at (major, minor, patch) only."""

    major: int
    minor: int
    patch: int = 0
    release: str = field(default="", compare=False)  # as the node reported it; "" when built by hand
    suffix: str = field(default="", compare=False)  # the distribution's part: "-39-generic", "-rc3"
    patch_from_build: bool = field(default=False, compare=False)  # patch level came from `uname -v`
    preemption: str | None = field(default=None, compare=False)  # see the module docstring

    @classmethod
    def parse(cls, release: str, build: str | None = None) -> KernelVersion:
        """Same as `parse_kernel`."""
        return parse_kernel(release, build)

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"

    @property
    def numbers(self) -> tuple[int, int, int]:
        return (self.major, self.minor, self.patch)

    @property
    def label(self) -> str:
        """The release string for people, with the upstream version when it differs from it."""
        shown = self.release or str(self)
        if self.patch_from_build:
            return f"{shown} (upstream {self})"
        return shown

    def at_least(self, threshold: str | KernelVersion) -> bool:
        """True when this kernel is `threshold` ("5.10", "4.19.57") or newer."""
        wanted = threshold if isinstance(threshold, KernelVersion) else parse_kernel(threshold)
        return self.numbers >= wanted.numbers


def parse_kernel(release: str, build: str | None = None) -> KernelVersion:
    """Parse a release string (`uname -r`), with `uname -v` as `build` when known."""
    if not isinstance(release, str) or not release.strip():
        raise InputError(
            f"kernel release must be a non-empty string like '6.2.0-39-generic', got {release!r}"
        )
    if build is not None and not isinstance(build, str):
        raise InputError(f"kernel build (uname -v) must be a string or None, got {build!r}")
    text = release.strip()
    match = _RELEASE.fullmatch(text)
    if match is None:
        raise InputError(
            f"not a kernel release string: {release!r}; expected 'major.minor[.patch][suffix]' "
            "as `uname -r` prints it, e.g. '6.2.0-39-generic'"
        )
    major, minor = int(match["major"]), int(match["minor"])
    patch = int(match["patch"] or 0)
    upstream_patch = _patch_in_build(build, major, minor)
    from_build = upstream_patch is not None and upstream_patch > patch
    return KernelVersion(
        major=major,
        minor=minor,
        patch=upstream_patch if from_build else patch,
        release=text,
        suffix=match["suffix"],
        patch_from_build=from_build,
        preemption=preemption_model(build),
    )


def preemption_model(build: str | None) -> str | None:
    """The preemption model named in a `uname -v` string, or None when no string is given."""
    if build is None:
        return None
    if _PREEMPT_RT.search(build):
        return PREEMPT_RT
    if _PREEMPT_DYNAMIC.search(build):
        return PREEMPT_DYNAMIC
    if _PREEMPT_BARE.search(build):
        return PREEMPT_FULL
    return PREEMPT_NONE_OR_VOLUNTARY


def _patch_in_build(build: str | None, major: int, minor: int) -> int | None:
    """The upstream patch level a build string names for this major.minor (Debian does), if any."""
    if not build:
        return None
    found = re.search(rf"(?<![\d.]){major}\.{minor}\.(\d+)", build)
    return int(found[1]) if found else None
