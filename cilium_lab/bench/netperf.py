"""netperf command lines and strict parsing of netperf's omni CSV output.

Called by `bench.runner` (build the argv for one sample, parse what the client pod printed); calls
nothing but `cilium_lab.errors`. The command is the one cilium-cli runs (`netperf -H <ip> -l <s> -t
<TEST> -- -R 1 -o <fields>`, cilium/cilium: cilium-cli/connectivity/perf/benchmarks/netperf/perfpod.go)
with two corrections: the duration is whole seconds (a Go duration string such as `1m0s` makes netperf
hang, cilium/cilium#48948) and TCP_STREAM has no fixed `-m` send size (cilium/cilium-cli#2695).

netperf's omni output with `-o` is a banner line, a header line and one CSV value line per process.
A sample that did not run cleanly is a `RunResult` with `ok=False` and the reason; it never carries
values, so a failure can never be averaged into a result.
"""

from __future__ import annotations

import math
import shlex
from dataclasses import dataclass, field

from cilium_lab import limits
from cilium_lab.errors import InputError

NETSERVER_PORT = 12865  # netserver's default control port; `netserver -D` keeps it in the foreground
OUTPUT_FIELDS = (
    "MIN_LATENCY",
    "MEAN_LATENCY",
    "MAX_LATENCY",
    "P50_LATENCY",
    "P90_LATENCY",
    "P99_LATENCY",
    "TRANSACTION_RATE",
    "THROUGHPUT",
    "THROUGHPUT_UNITS",
)
HEADER_PREFIX = "Minimum Latency Microseconds,"
STREAM_UNITS = "10^6bits/s"  # THROUGHPUT_UNITS of a STREAM test with netperf's default -f m
RR_UNITS = "Trans/s"  # THROUGHPUT_UNITS of an RR/CRR test

# test name -> the netperf -t value; TCP_STREAM_MULTI runs N TCP_STREAM processes in parallel
TESTS = {
    "TCP_STREAM": "TCP_STREAM",
    "TCP_STREAM_MULTI": "TCP_STREAM",
    "TCP_RR": "TCP_RR",
    "TCP_CRR": "TCP_CRR",
}
LATENCY_METRICS = {  # metric -> column in the value line (microseconds)
    "latency_min": 0,
    "latency_mean": 1,
    "latency_max": 2,
    "latency_p50": 3,
    "latency_p90": 4,
    "latency_p99": 5,
}
UNITS = {"throughput": "Mbit/s", "transaction_rate": "trans/s", **dict.fromkeys(LATENCY_METRICS, "us")}
LOWER_IS_BETTER = frozenset(LATENCY_METRICS)


@dataclass(frozen=True)
class RunResult:
    """One sample as netperf reported it: metric -> value when ok, else the reason it failed."""

    ok: bool
    values: dict[str, float] = field(default_factory=dict)
    reason: str = ""


def check_duration(duration: object) -> int:
    """Whole seconds > 0, or InputError (netperf -l takes integer seconds; cilium/cilium#48948)."""
    if isinstance(duration, bool) or not isinstance(duration, int | float) or not math.isfinite(duration):
        raise InputError(f"duration must be a whole number of seconds, got {duration!r}")
    low, high = limits.DURATION
    if duration != int(duration) or not low <= duration <= high:
        raise InputError(
            f"duration must be a whole number of seconds from {low} to {high} (like 10), got {duration!r}"
        )
    return int(duration)


def check_test(test: str) -> str:
    if test not in TESTS:
        raise InputError(f"unknown netperf test {test!r}: choose from {', '.join(TESTS)}")
    return test


def streams_for(test: str, streams: int) -> int:
    """How many parallel netperf processes a test runs: N for TCP_STREAM_MULTI, else 1."""
    if test != "TCP_STREAM_MULTI":
        return 1
    if isinstance(streams, bool) or not isinstance(streams, int) or streams < 2:
        raise InputError(f"TCP_STREAM_MULTI needs streams as a whole number >= 2, got {streams!r}")
    return streams


def single_command(test: str, host: str, duration: int, *, data_port: int | None = None) -> list[str]:
    """argv of one netperf process. `data_port` pins the data connection's remote port (needed
    behind a Service, which forwards only the ports it lists; netperf otherwise picks one at random)."""
    argv = ["netperf", "-H", host, "-l", str(check_duration(duration)), "-t", TESTS[check_test(test)]]
    argv += ["--", "-R", "1", "-o", ",".join(OUTPUT_FIELDS)]
    if data_port is not None:
        argv += ["-P", f",{data_port}"]
    return argv


def command(
    test: str, host: str, duration: int, *, streams: int = 1, data_ports: list[int] | None = None
) -> list[str]:
    """argv for one sample: one netperf, or N in parallel under `sh -c '... & ... & wait'`."""
    count = streams_for(check_test(test), streams)
    ports: list[int | None] = list(data_ports) if data_ports else [None] * count
    if len(ports) < count:
        raise InputError(f"{count} streams need {count} data ports, got {len(ports)}")
    if count == 1:
        return single_command(test, host, duration, data_port=ports[0])
    parts = [shlex.join(single_command(test, host, duration, data_port=ports[i])) for i in range(count)]
    return ["sh", "-c", " & ".join(parts) + " & wait"]


def parse(stdout: str, *, test: str, streams: int = 1, code: int = 0, stderr: str = "") -> RunResult:
    """Turn a client's output into values, or a failed sample with the reason. Never raises on bad output."""
    count = streams_for(check_test(test), streams)
    if code != 0:
        return RunResult(False, reason=f"netperf exited with code {code}: {_first_line(stderr or stdout)}")
    if "establish control" in stdout or "establish_control" in stdout:
        return RunResult(False, reason=f"netperf could not reach netserver: {_first_line(stdout)}")
    lines = _value_lines(stdout)
    if len(lines) != count:
        return RunResult(False, reason=f"expected {count} netperf result line(s), found {len(lines)}")
    try:
        per_process = [_parse_line(line, test) for line in lines]
    except ValueError as err:
        return RunResult(False, reason=str(err))
    if test.endswith("_STREAM") or test == "TCP_STREAM_MULTI":
        return RunResult(True, {"throughput": math.fsum(p["throughput"] for p in per_process)})
    return RunResult(True, per_process[0])


def _value_lines(stdout: str) -> list[str]:
    """Lines that follow a header line: netperf prints exactly one value line after each header."""
    lines = [line.strip() for line in stdout.splitlines()]
    return [lines[i + 1] for i, line in enumerate(lines[:-1]) if line.startswith(HEADER_PREFIX)]


def _parse_line(line: str, test: str) -> dict[str, float]:
    cells = line.split(",")
    if len(cells) != len(OUTPUT_FIELDS):
        raise ValueError(
            f"netperf result line has {len(cells)} fields, expected {len(OUTPUT_FIELDS)}: {line!r}"
        )
    units = cells[8]
    if test in ("TCP_STREAM", "TCP_STREAM_MULTI"):
        _expect_units(units, STREAM_UNITS, line)
        return {"throughput": _positive(cells[7], "THROUGHPUT")}
    _expect_units(units, RR_UNITS, line)
    values = {metric: _positive(cells[col], OUTPUT_FIELDS[col]) for metric, col in LATENCY_METRICS.items()}
    values["transaction_rate"] = _positive(cells[6], "TRANSACTION_RATE")
    return values


def _expect_units(units: str, expected: str, line: str) -> None:
    if units != expected:
        raise ValueError(f"netperf reported units {units!r}, expected {expected!r}: {line!r}")


def _positive(text: str, name: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"netperf {name} is not a number: {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"netperf {name} is not a positive finite number: {text!r}")
    return value


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:200]
    return "(no output)"
