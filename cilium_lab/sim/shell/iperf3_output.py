"""iperf3's output, reproduced: the -J JSON document (start / intervals / end) and the plain-text report.

Prints a finished `Report`. Field names follow iperf3's
JSON output (iperf_api.c: "connected", "test_start", "intervals"[].streams/sum, "end".streams with
sender/receiver, "sum_sent", "sum_received", "cpu_utilization_percent", "sender_tcp_congestion").
Simplifications: per-interval values scatter a few percent around the run's rate; CPU utilisation is
a rough share of the cores (the model has no CPU accounting); cwnd is the bandwidth-delay product.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

VERSION = "iperf 3.21"


@dataclass(frozen=True)
class Report:
    local: str
    remote: str
    port: int
    seconds: float
    udp: bool
    reverse: bool
    offered: list[float]  # bits/s each stream could carry
    rates: list[float]  # bits/s each stream carried (UDP: limited by -b)
    retransmits: list[int]
    rtt_us: float
    mss: int
    congestion: str
    cpus: int
    rng: random.Random


def server_banner(port: int) -> str:
    rule = "-" * 59 + "\n"
    return f"{rule}Server listening on {port} (test #1)\n{rule}"


def json_error(message: str) -> str:
    return json.dumps({"start": {}, "intervals": [], "end": {}, "error": message}, indent="\t") + "\n"


def json_document(report: Report) -> str:
    intervals = _intervals(report)
    doc = {"start": _start(report), "intervals": intervals, "end": _end(report, intervals)}
    return json.dumps(doc, indent="\t") + "\n"


def _start(report: Report) -> dict[str, Any]:
    connected = [
        {
            "socket": 5 + i,
            "local_host": report.local,
            "local_port": 40000 + i,
            "remote_host": report.remote,
            "remote_port": report.port,
        }
        for i in range(len(report.rates))
    ]
    return {
        "connected": connected,
        "version": VERSION,
        "connecting_to": {"host": report.remote, "port": report.port},
        "tcp_mss_default": report.mss,
        "sock_bufsize": 0,
        "sndbuf_actual": 16384,
        "rcvbuf_actual": 131072,
        "test_start": {
            "protocol": "UDP" if report.udp else "TCP",
            "num_streams": len(report.rates),
            "blksize": 1448 if report.udp else 131072,
            "omit": 0,
            "duration": int(report.seconds),
            "bytes": 0,
            "blocks": 0,
            "reverse": int(report.reverse),
            "tos": 0,
            "target_bitrate": 0,
            "bidir": 0,
            "fqrate": 0,
            "interval": 1,
        },
    }


def _intervals(report: Report) -> list[dict[str, Any]]:
    seconds, result = int(max(1, round(report.seconds))), []
    for t in range(seconds):
        streams = []
        for i, rate in enumerate(report.rates):
            bps = rate * report.rng.uniform(0.97, 1.03)
            stream = _summary(5 + i, t, t + 1.0, bps, report, retransmits=report.retransmits[i] // seconds)
            if not report.udp:
                stream.update(
                    snd_cwnd=_cwnd(report, bps), rtt=int(report.rtt_us), rttvar=int(report.rtt_us / 4)
                )
                stream["pmtu"] = report.mss + 52
            stream["omitted"] = False
            streams.append(stream)
        total = sum(s["bits_per_second"] for s in streams)
        retrans = sum(s.get("retransmits", 0) for s in streams)
        result.append(
            {
                "streams": streams,
                "sum": {**_summary(None, t, t + 1.0, total, report, retrans), "omitted": False},
            }
        )
    return result


def _end(report: Report, intervals: list[dict[str, Any]]) -> dict[str, Any]:
    span = float(len(intervals))
    streams = []
    for i in range(len(report.rates)):
        bps = sum(iv["streams"][i]["bits_per_second"] for iv in intervals) / span
        sender = _summary(5 + i, 0.0, span, bps, report, report.retransmits[i])
        receiver = _summary(5 + i, 0.0, span + 0.04, bps * span / (span + 0.04), report, None)
        streams.append(
            {"udp": {**sender, **_udp_loss(report, i)}}
            if report.udp
            else {"sender": sender, "receiver": receiver}
        )
    total = sum(s["udp" if report.udp else "sender"]["bits_per_second"] for s in streams)
    carried = total * min(1.0, sum(report.offered) / max(sum(report.rates), 1e-9)) if report.udp else total
    end: dict[str, Any] = {
        "streams": streams,
        "sum_sent": _summary(None, 0.0, span, total, report, sum(report.retransmits)),
        "sum_received": _summary(None, 0.0, span + 0.04, carried * span / (span + 0.04), report, None),
        "cpu_utilization_percent": _cpu(report, total),
    }
    if not report.udp:
        end.update(sender_tcp_congestion=report.congestion, receiver_tcp_congestion=report.congestion)
    return end


def _summary(
    socket: int | None, start: float, end: float, bps: float, report: Report, retransmits: int | None
) -> dict[str, Any]:
    entry: dict[str, Any] = {} if socket is None else {"socket": socket}
    entry.update(
        start=start, end=end, seconds=end - start, bytes=int(bps * (end - start) / 8), bits_per_second=bps
    )
    if retransmits is not None and not report.udp:
        entry["retransmits"] = retransmits
    if report.udp:
        entry["packets"] = int(bps * (end - start) / 8 / 1448)
    entry["sender"] = True
    return entry


def _udp_loss(report: Report, i: int) -> dict[str, Any]:
    sent = report.rates[i]
    lost = max(0.0, 1 - report.offered[i] / sent) if sent else 0.0
    packets = int(sent * report.seconds / 8 / 1448)
    return {
        "jitter_ms": round(report.rtt_us / 1000 / 20, 3),
        "lost_packets": int(packets * lost),
        "packets": packets,
        "lost_percent": lost * 100,
    }


def _cwnd(report: Report, bps: float) -> int:
    """Bandwidth-delay product, at least ten segments."""
    return max(10 * report.mss, int(bps / 8 * report.rtt_us / 1e6 * 2))


def _cpu(report: Report, total_bps: float) -> dict[str, float]:
    """Rough: a core per ~10 Gbit/s of TCP, shared over the node's CPUs (not modelled, illustrative)."""
    busy = min(100.0, 100.0 * total_bps / 10e9 / report.cpus + 1.0)
    return {
        "host_total": busy,
        "host_user": busy * 0.1,
        "host_system": busy * 0.9,
        "remote_total": busy * 1.2,
        "remote_user": busy * 0.1,
        "remote_system": busy * 1.1,
    }


def text(report: Report) -> str:
    """The plain report: connection lines, one line per interval, the sender/receiver summary."""
    lines = [f"Connecting to host {report.remote}, port {report.port}"]
    lines += [
        f"[{5 + i:3d}] local {report.local} port {40000 + i} connected to {report.remote} port {report.port}"
        for i in range(len(report.rates))
    ]
    lines.append("[ ID] Interval           Transfer     Bitrate")
    intervals = _intervals(report)
    for iv in intervals:
        s = iv["sum"]
        lines.append(f"[SUM] {_interval(s)}")
    lines.append("- - - - - - - - - - - - - - - - - - - - - - - - -")
    end = _end(report, intervals)
    lines.append(
        f"[SUM] {_interval(end['sum_sent'])}  {end['sum_sent'].get('retransmits', 0):4d}             sender"
    )
    lines.append(f"[SUM] {_interval(end['sum_received'])}                  receiver")
    return "\n".join(lines) + "\n\niperf Done.\n"


def _interval(entry: dict[str, Any]) -> str:
    return f"{entry['start']:6.2f}-{entry['end']:<6.2f} sec  {_bytes(entry['bytes'])}  {_bits(entry['bits_per_second'])}"


def _bytes(n: float) -> str:
    for unit, scale in (("GBytes", 2**30), ("MBytes", 2**20), ("KBytes", 2**10)):
        if n >= scale:
            return f"{_three(n / scale)} {unit}"
    return f"{n:4.0f} Bytes"


def _bits(bps: float) -> str:
    for unit, scale in (("Gbits/sec", 1e9), ("Mbits/sec", 1e6), ("Kbits/sec", 1e3)):
        if bps >= scale:
            return f"{_three(bps / scale)} {unit}"
    return f"{bps:4.0f} bits/sec"


def _three(x: float) -> str:
    """iperf3's unit_snprintf precision: three significant digits."""
    return f"{x:4.2f}" if x < 9.995 else f"{x:4.1f}" if x < 99.95 else f"{x:4.0f}"
