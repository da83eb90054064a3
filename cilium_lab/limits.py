"""The bounds of every number a user gives (command line, lab parameters, Python API), in one place.

Each bound is documented in the verbs' help and in the README; a value outside it is one InputError
line that names the option, the bounds and what it got. The upper bounds keep a typo from running for
days (`--samples 999999999999`) or from waiting forever (`--timeout 1e9`).
"""

from __future__ import annotations

import math

from cilium_lab.errors import InputError

SAMPLES = (1, 1000)  # netperf runs per test and scenario (a lab, `bench`)
LOCAL_SAMPLES = (2, 1000)  # per arm in the local kernel lab: a paired CI needs spread
DURATION = (1, 3600)  # seconds per netperf run: whole seconds (netperf -l takes integers)
STREAMS = (1, 32)  # parallel netperf processes for TCP_STREAM_MULTI (one pod each)
TIMEOUT = (1, 3600)  # seconds to wait for agents or host pods (restore, restore-host)
SEED = (0, 2**31 - 1)
KEEP = (1, 10_000)  # backups --prune --keep
PORT = (0, 65535)  # sim serve --port (0: any free port)


def whole(name: str, value: object, bounds: tuple[int, int]) -> int:
    """`value` as a whole number within `bounds`; the text of one (a command line's) is accepted."""
    low, high = bounds
    number = value
    if isinstance(value, str):
        text = value.strip()
        number = int(text) if text.lstrip("-").isascii() and text.lstrip("-").isdecimal() else value
    elif isinstance(value, float) and math.isfinite(value) and value == int(value):
        number = int(value)  # 10.0 from a JSON or YAML file is ten
    if isinstance(number, bool) or not isinstance(number, int):
        raise InputError(f"{name} must be a whole number from {low} to {high}, got {value!r}")
    if not low <= number <= high:
        raise InputError(f"{name} must be from {low} to {high}, got {number}")
    return number


def seconds(name: str, value: object, bounds: tuple[int, int]) -> float:
    """`value` as a number of seconds within `bounds` (fractions allowed); no nan or inf."""
    low, high = bounds
    number = value
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            number = value
    if isinstance(number, bool) or not isinstance(number, int | float) or not math.isfinite(number):
        raise InputError(f"{name} must be a number of seconds from {low} to {high}, got {value!r}")
    if not low <= number <= high:
        raise InputError(f"{name} must be from {low} to {high} seconds, got {value!r}")
    return float(number)


def span(bounds: tuple[int, int]) -> str:
    """The bounds as the help text says them."""
    return f"{bounds[0]} to {bounds[1]}"
