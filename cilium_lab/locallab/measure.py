"""Measurements for the local lab: netperf and iperf3 command lines, their output parsers, and runs.

Called by `locallab.knobs` (each knob's sample) and `locallab.knob_runs`; calls netperf/iperf3 inside
the topology's namespaces through `locallab.shell`. RR and CRR run pinned: client and server on the
same CPU, because a cross-vCPU wake-up costs ~100 µs in a VM and makes TCP_RR bimodal
(kernel-lab.md §1 "Noise"). Streams run unpinned (pinning did not reduce their spread there).
"""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass

from cilium_lab.locallab import shell
from cilium_lab.locallab.shell import LocalLabError
from cilium_lab.locallab.topology import NETPERF_FREE_PORT, NETPERF_PINNED_PORT, Pod, Topology


@dataclass(frozen=True)
class Test:
    """One kind of measurement: what it reports, in which unit, and which way is better."""

    name: str
    metric: str
    unit: str
    higher_is_better: bool
    noise: (
        float  # relative effect below which this host cannot tell (kernel-lab.md §1: 10% RR/CRR, 25% streams)
    )


TESTS = {
    t.name: t
    for t in (
        Test("TCP_RR", "transactions", "trans/s", True, 0.10),
        Test("TCP_CRR", "connections", "conn/s", True, 0.10),
        Test("TCP_STREAM", "throughput", "Mbit/s", True, 0.25),
        Test("LATENCY_UNDER_LOAD", "rr_latency", "ms", False, 0.25),
    )
}
NETPERF_TESTS = ("TCP_RR", "TCP_CRR", "TCP_STREAM")
CRR_PER_SECOND = 6_000  # typical pinned TCP_CRR rate on a 2-vCPU VM (kernel-lab.md §2.1: 8-10k)


def netperf_argv(test: str, host: str, *, seconds: int, port: int, data_port: int | None = None) -> list[str]:
    """netperf client command printing one CSV line `throughput,units,mean_latency_us`."""
    if test not in NETPERF_TESTS:
        raise LocalLabError(f"netperf test {test!r} is not one of {', '.join(NETPERF_TESTS)}")
    # a timed TCP_CRR ends with a fixed ~4 s wait in netserver (seen with strace: the client's select on
    # the control socket); a transaction count ends at once, so CRR runs ~CRR_PER_SECOND x seconds
    length = f"-{CRR_PER_SECOND * seconds}" if test == "TCP_CRR" else str(seconds)
    argv = ["netperf", "-P", "0", "-H", host, "-p", str(port), "-t", test, "-l", length]
    if ":" in host:
        argv.insert(1, "-6")
    argv += ["--", "-o", "THROUGHPUT,THROUGHPUT_UNITS,MEAN_LATENCY"]
    if data_port is not None:
        argv += ["-P", f",{data_port}"]  # fixed remote data port, so a DNAT rule can match it
    return argv


def parse_netperf(text: str) -> tuple[float, float]:
    """`56881.71,Trans/s,17.52` -> (56881.71, 17.52): the rate (trans/s or 10^6 bits/s) and latency in µs."""
    for line in reversed(text.strip().splitlines()):
        fields = line.strip().split(",")
        if len(fields) == 3:
            try:
                return float(fields[0]), float(fields[2])
            except ValueError:
                break
    raise LocalLabError(f"netperf printed no result line: {text.strip()[-200:]!r}")


def iperf3_argv(host: str, *, seconds: float, cc: str, port: int = 5201) -> list[str]:
    """iperf3 client with per-socket congestion control (sysctl is EPERM in a child netns, §2.8)."""
    return ["iperf3", "-c", host, "-p", str(port), "-t", f"{seconds:g}", "-C", cc, "-J"]


def parse_iperf3(text: str) -> tuple[float, str]:
    """iperf3 -J output -> (received Mbit/s, congestion control the sender really used)."""
    try:
        end = json.loads(text)["end"]
        return end["sum_received"]["bits_per_second"] / 1e6, end.get("sender_tcp_congestion", "")
    except (ValueError, KeyError, TypeError) as err:
        raise LocalLabError(f"iperf3 printed no usable JSON result: {text.strip()[-200:]!r}") from err


def netperf(
    topo: Topology, client: Pod, host: str, test: str, *, seconds: int, data_port: int | None = None
) -> float:
    """Run one netperf test from `client` to `host`; return the value in the Test's unit."""
    pinned = test != "TCP_STREAM"
    port = NETPERF_PINNED_PORT if pinned else NETPERF_FREE_PORT
    argv = shell.pinned(
        topo.cpu if pinned else None,
        netperf_argv(test, host, seconds=seconds, port=port, data_port=data_port),
    )
    rate, _ = parse_netperf(topo.exec(client.netns, argv, timeout=seconds + 30))
    if rate <= 0:
        raise LocalLabError(f"netperf {test} to {host} measured nothing (rate {rate}): is the path up?")
    return rate


def latency_under_load(
    topo: Topology, client: Pod, server: Pod, *, seconds: int, cc: str
) -> dict[str, float]:
    """Bulk iperf3 flow with congestion control `cc`; meanwhile a TCP_RR probe measures the RTT it causes."""
    warmup = 1.0  # let the sender fill the bottleneck queue before probing
    bulk = subprocess.Popen(
        shell.in_netns(
            client.netns, shell.pinned(None, iperf3_argv(server.ipv4, seconds=seconds + warmup + 0.5, cc=cc))
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(warmup)
        probe = shell.pinned(
            None, netperf_argv("TCP_RR", server.ipv4, seconds=seconds, port=NETPERF_FREE_PORT)
        )
        _, latency_us = parse_netperf(topo.exec(client.netns, probe, timeout=seconds + 30))
        out, _ = bulk.communicate(timeout=seconds + 30)
    finally:
        if bulk.poll() is None:
            bulk.kill()
            bulk.wait()
    mbits, used = parse_iperf3(out)
    if used and used != cc:
        raise LocalLabError(f"iperf3 ran {used} instead of {cc}: this kernel refused the congestion control")
    return {"LATENCY_UNDER_LOAD": latency_us / 1000, "TCP_STREAM": mbits}
