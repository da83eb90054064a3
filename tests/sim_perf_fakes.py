"""Shared test helpers for the performance model tests: nodes, datapaths and an ExecContext without HTTP.

Used by tests/test_sim_perf_*.py. The calibration hardware is built here from the published facts
(shared/reference/cilium-tuning.md C.1): Ryzen 9 3950X (32 threads), Intel E810 100G (driver ice),
kernel 5.10 with CONFIG_PREEMPT_NONE, MTU 1500, nodes tuned (netbench.md section 5).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from cilium_lab.sim.agent.datapath import Datapath
from cilium_lab.sim.agent.runtime import Boot, Endpoint, ExecContext, ExecResult
from cilium_lab.sim.shell import netperf_emu
from cilium_lab.sim.state.profiles import Nic, NodeProfile

CILIUM_CLI_SELECTORS = "MIN_LATENCY,MEAN_LATENCY,MAX_LATENCY,P50_LATENCY,P90_LATENCY,P99_LATENCY,TRANSACTION_RATE,THROUGHPUT,THROUGHPUT_UNITS"
NATIVE = {"routing": "native", "tunnel_protocol": None, "mtu": 1500, "hubble": False}
EBPF = Datapath(**NATIVE, kpr=True, masquerade="bpf", host_routing="bpf", no_conntrack=True)
LEGACY_PAGE = Datapath(**NATIVE, kpr=True, masquerade="bpf", host_routing="legacy", no_conntrack=True)
LEGACY_BLOG = Datapath(**NATIVE, kpr=False, masquerade="iptables", host_routing="legacy", no_conntrack=False)


def bench_node(name: str, ip: str, **changes: object) -> NodeProfile:
    fields: dict = {
        "name": name,
        "arch": "amd64",
        "os_image": "Ubuntu 20.04",
        "kernel": "5.10.0",
        "kernel_build": "#1 SMP",
        "preempt": "none",
        "cpus": 32,
        "memory_gib": 128,
        "nic": Nic("enp1s0f0", "ice", 100000, 1500, 9702, True, True),
        "internal_ip": ip,
        "pod_cidr": "10.0.0.0/24",
        "underlay_mtu": 9000,
        "host": {"governor": "performance", "tuned_profile": "network-throughput", "irqbalance": "inactive"},
    }
    fields.update(changes)
    return NodeProfile(**fields)


@dataclass
class FakeCluster:
    """Addresses -> endpoints, a virtual clock, and exec contexts for netperf/iperf3 commands."""

    endpoints: dict[str, Endpoint] = field(default_factory=dict)
    now: float = 0.0
    rng: random.Random = field(default_factory=lambda: random.Random(7))

    def add(self, ip: str, node: NodeProfile, datapath: Datapath | None, host: bool = False) -> None:
        self.endpoints[ip] = Endpoint(ip, node, datapath, host, None if host else f"pod-{ip}")

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def resolve(self, ip: str, port: int | str | None = None) -> Endpoint | None:
        return self.endpoints.get(ip)  # the fake has no Services: the port does not matter

    def context(
        self, node: NodeProfile, datapath: Datapath | None, host: bool = False, ip: str = "10.0.9.9"
    ) -> ExecContext:
        boot = Boot(ok=datapath is not None, datapath=datapath)
        return ExecContext(
            pod={"metadata": {"name": "client"}, "spec": {"hostNetwork": host}},
            container="perf",
            node=node,
            cilium_version="1.9.6",
            boot=boot,
            config={},
            resolve=self.resolve,
            rng=self.rng,
            clock=lambda: self.now,
            advance=self.advance,
            pod_ip=node.internal_ip if host else ip,
        )

    def exec(self, ctx: ExecContext, command: str, concurrent: int = 1) -> ExecResult:
        return netperf_emu.run(ctx, command.split(), concurrent)


def netperf_values(stdout: str) -> list[str]:
    """The CSV value line of `netperf ... -- -o ...`, parsed as cilium-cli parses it."""
    return stdout.strip().splitlines()[-1].split(",")


def cilium_cli_netperf(
    cluster: FakeCluster, ctx: ExecContext, ip: str, test: str, concurrent: int = 1
) -> float:
    """Run cilium-cli's exact netperf command `concurrent` times (as super_netperf) and sum the rates."""
    command = f"/usr/local/bin/netperf -H {ip} -l 10 -t {test} -- -R 1 -o {CILIUM_CLI_SELECTORS}"
    total = 0.0
    for _ in range(concurrent):
        result = cluster.exec(ctx, command, concurrent)
        assert result.code == 0, result.stdout + result.stderr
        values = netperf_values(result.stdout)
        assert len(values) == 9 and values[8] in ("10^6bits/s", "Trans/s")
        total += float(values[7])
    return total
