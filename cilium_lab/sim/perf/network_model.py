"""The embedded cluster's performance model: a network path and a netperf test -> the expected result.

`expected(path, test, concurrent)` gives an `Expectation`, and `noise.sample(expectation, rng)`
draws one seeded measurement from it. Every number lives in data/perfmodel.yaml beside its source
(`constants`); which effects a path takes is decided in `effects`.

How it works: a node's hardware class gives reference rates for a host-to-host path (C.1's baseline on
the C.1 hardware). Each effect the path takes (host routing, conntrack, tunnel, Hubble, MTU, BIG TCP,
service translation, kernel preemption, host tuning) multiplies the rate; then CPU scaling over the
concurrent processes, congestion control under loss, and the NIC's line rate shape the aggregate.

What it simplifies: no queueing or packet simulation; effects are independent multipliers, each based
on a published figure for that knob, this project's local kernel lab, or an estimate (the YAML says
which; `sim.perfmodel_steps` lists them per step of the series); one flow per
process; the two directions of a path are symmetric; latency under load is a tail multiplier, not a
queue; CPU cost is not reported. Everything it produces is SIMULATED.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from cilium_lab.errors import InputError
from cilium_lab.sim.perf import constants, effects
from cilium_lab.sim.perf.path import Path

TESTS = {
    "TCP_STREAM": ("stream", "tcp"),
    "TCP_MAERTS": ("stream", "tcp"),
    "UDP_STREAM": ("stream", "udp"),
    "TCP_RR": ("rr", "tcp"),
    "UDP_RR": ("rr", "udp"),
    "TCP_CRR": ("crr", "tcp"),
}
SEND_SIZE = 16384  # netperf's TCP_STREAM send size on Linux (the initial socket send buffer)


@dataclass(frozen=True)
class Expectation:
    """What one process of a test is expected to measure, before noise."""

    test: str
    kind: str  # "stream" | "rr" | "crr"
    concurrent: int
    rate: float  # per process: 10^6 bits/s for STREAM, transactions/s for RR and CRR
    latency_us: float  # mean per transaction (RR/CRR) or per send call (STREAM)
    tail: float  # multiplies the spread of the percentiles above the median (jitter)
    p90_load: float  # multipliers on p90/p99 from bulk traffic sharing the path (latency under load)
    p99_load: float
    retransmits_per_s: float
    cv: float  # coefficient of variation of one run's rate
    scenario: str
    factors: tuple[tuple[str, float], ...]  # every named multiplier applied, for transparency

    @property
    def aggregate(self) -> float:
        return self.rate * self.concurrent


def expected(
    path: Path,
    test: str,
    concurrent: int = 1,
    *,
    load: int = 0,
    request: int = 1,
    response: int = 1,
    message: int | None = None,
) -> Expectation:
    """The expected per-process result of `concurrent` copies of `test` on `path`.

    `load` is the number of bulk streams sharing the path while the test runs (latency under load);
    `request`/`response` are RR message sizes (netperf -r), `message` the UDP_STREAM datagram (-m).
    """
    if test not in TESTS:
        raise InputError(f"unknown netperf test {test!r}: use one of {', '.join(TESTS)}")
    if concurrent < 1 or load < 0:
        raise InputError(f"concurrent must be >= 1 and load >= 0 (got {concurrent}, {load})")
    kind, proto = TESTS[test]
    hw = [constants.hardware(s.node, path.perf) for s in (path.client, path.server)]
    named = effects.collect(path, kind)
    rate = effects.base_rate(path, kind) * math.prod(f for _, f in named)
    if proto == "udp":
        rate *= _udp_factor(kind, message)
    elif kind == "stream" and message:
        rate = _with_send_size(rate, message)
    if kind != "stream" and (request > 1 or response > 1):
        rate = _with_transfer_time(rate, request + response, path)
    aggregate = rate * effects.speedup(path, kind, concurrent)
    loss = effects.loss_rate(path, kind, concurrent, aggregate)
    if kind == "stream":
        aggregate = _stream_limits(path, aggregate, concurrent, loss)
    p90_load, p99_load, mean_load = effects.load_tail(path, kind, load)
    per_process = aggregate / concurrent / mean_load
    return Expectation(
        test=test,
        kind=kind,
        concurrent=concurrent,
        rate=per_process,
        latency_us=(_send_size(proto, message) * 8 if kind == "stream" else 1e6) / max(per_process, 1e-9),
        tail=effects.tail(path),
        p90_load=p90_load,
        p99_load=p99_load,
        retransmits_per_s=effects.retransmits(path, kind, per_process, loss),
        cv=constants.value("noise", "cv", kind) * max(h.noise_scale for h in hw),
        scenario=path.scenario,
        factors=tuple(named),
    )


def _send_size(proto: str, message: int | None) -> int:
    """Bytes per send() call of a STREAM test: netperf -m, else 16384 for TCP and 1024 for UDP here."""
    return message or (SEND_SIZE if proto == "tcp" else 1024)


def _udp_factor(kind: str, message: int | None) -> float:
    if kind == "rr":
        return constants.value("udp", "rr", "value")
    per_1024 = constants.value("udp", "stream_per_1024B", "value")
    return min(1.0, per_1024 * (message or 1024) / 1024)


def _with_send_size(rate: float, message: int) -> float:
    """netperf -m: each send() call costs a fixed overhead, so small sends lower the rate.

    Sends above the default size are not modelled as faster: the reference rates already saturate."""
    if message >= SEND_SIZE:
        return rate
    overhead = constants.value("tcp_send", "call_overhead_us", "value")
    return 1.0 / (1.0 / rate + overhead / (8 * message) - overhead / (8 * SEND_SIZE))


def _with_transfer_time(rate: float, payload: int, path: Path) -> float:
    """Large RR messages add their serialisation time at the path's single-stream rate."""
    stream = expected(path, "TCP_STREAM").rate  # Mbit/s = bits per microsecond
    return 1e6 / (1e6 / rate + payload * 8 / stream)


def _stream_limits(path: Path, aggregate: float, concurrent: int, loss: float) -> float:
    """Cross-node: MTU black hole, loss-based congestion control, then the NIC's line rate."""
    if path.same_node:
        return aggregate
    if effects.mtu_blackhole(path):
        return aggregate * constants.value("effects", "mtu_blackhole", "stream")
    aggregate = min(aggregate, effects.congestion_cap(path, concurrent, loss))
    return min(aggregate, effects.line_rate(path, concurrent))
