"""Calibration of the simulated performance model against published Cilium figures.

Every number is measured through the emulated netperf command line that cilium-cli runs, parsed as
cilium-cli parses it (median of several seeded runs). Targets (shared/reference/cilium-tuning.md):

- C.2, Cilium 1.9 blog: pod to remote pod, legacy host routing (1.8: no KPR, iptables masquerading,
  conntrack) -> BPF host routing: TCP_STREAM x1.7-2.3 (published 10.6 -> 21.8 Gbit/s), TCP_RR
  x2.5-3.3 (published 7.6k -> 22.3k).
- C.1, the docs benchmark page: the ratios between baseline node-to-node, Cilium eBPF and Cilium
  legacy (KPR, No CT) hold within 10% for 1 and 32 processes of TCP_STREAM, TCP_RR and TCP_CRR.

The hardware is the bench-2021 profile (data/profiles/bench-2021.yaml, the C.1 hosts). Host routing
follows C.2, the figure the 1.9 blog credits to it (bpf_redirect_peer/neigh, TSQ back-pressure); C.1's
same-release legacy run found a smaller gap, so the legacy rows of C.1 are held to the factor the
steps table gives host routing (data/perfmodel.yaml steps: bpf-host-routing, may_differ), not to 10 %.
The conntrack bypass is no longer fitted to the blog's gap: it rests on the local kernel lab (tested in
test_sim_perf_steps.py). The seed-mixed nodes give plausible absolute numbers (bounds below are
plausibility ranges, not published measurements).
"""

from __future__ import annotations

import statistics

import pytest
from sim_perf_fakes import EBPF, LEGACY_BLOG, LEGACY_PAGE, FakeCluster, cilium_cli_netperf

from cilium_lab.sim.agent.datapath import Datapath
from cilium_lab.sim.control import perf_steps as perfmodel_steps
from cilium_lab.sim.state import profiles

BENCH = profiles.load("bench-2021").nodes
SERVER_POD, SERVER_HOST = "10.0.1.10", BENCH[1].internal_ip
RUNS = 5

# C.1 chart values: (baseline node-node, Cilium eBPF, Cilium legacy host routing)
C1 = {
    ("TCP_STREAM", 1): (41.7, 42.3, 35.8),
    ("TCP_STREAM", 32): (91.5, 91.2, 90.1),
    ("TCP_RR", 1): (47_800, 45_300, 34_100),
    ("TCP_RR", 32): (1_106_000, 968_000, 722_000),
    ("TCP_CRR", 1): (13_000, 12_500, 9_800),
    ("TCP_CRR", 32): (127_000, 199_000, 164_000),
}


def measure(datapath: Datapath, test: str, concurrent: int = 1, host: bool = False) -> float:
    """Median over RUNS of the summed rate of `concurrent` netperf processes between the two bench hosts."""
    client, server = BENCH
    cluster = FakeCluster()
    cluster.add(SERVER_POD, server, datapath)
    cluster.add(SERVER_HOST, server, datapath, host=True)
    ctx = cluster.context(client, datapath, host=host)
    target = SERVER_HOST if host else SERVER_POD
    return statistics.median(cilium_cli_netperf(cluster, ctx, target, test, concurrent) for _ in range(RUNS))


@pytest.mark.parametrize(("test", "low", "high"), [("TCP_STREAM", 1.7, 2.3), ("TCP_RR", 2.5, 3.3)])
def test_bpf_host_routing_gain_matches_cilium_1_9_blog(test: str, low: float, high: float) -> None:
    ratio = measure(EBPF, test) / measure(LEGACY_BLOG, test)
    assert low <= ratio <= high, f"{test}: BPF/legacy = {ratio:.2f}, blog range {low}-{high}"


@pytest.mark.parametrize(("test", "concurrent"), list(C1))
def test_configuration_ratios_match_benchmark_page(test: str, concurrent: int) -> None:
    baseline, ebpf, legacy = C1[(test, concurrent)]
    measured_baseline = measure(EBPF, test, concurrent, host=True)
    got_ebpf = measure(EBPF, test, concurrent) / measured_baseline
    assert abs(got_ebpf / (ebpf / baseline) - 1) <= 0.10, (
        f"{test} x{concurrent} eBPF/baseline: {got_ebpf:.3f}, page {ebpf / baseline:.3f}"
    )
    # legacy follows the 1.9 blog, a larger gap than this page's legacy run: held to the documented factor
    factor = perfmodel_steps.steps()["bpf-host-routing"]["may_differ"]["factor"]
    got_legacy = measure(LEGACY_PAGE, test, concurrent) / measured_baseline
    want = legacy / baseline
    assert got_legacy <= got_ebpf, f"{test} x{concurrent}: legacy {got_legacy:.3f} above eBPF {got_ebpf:.3f}"
    assert want / factor <= got_legacy <= want * factor, (
        f"{test} x{concurrent} legacy/baseline: {got_legacy:.3f}, page {want:.3f}, allowed x{factor}"
    )


def test_baseline_absolute_numbers_sit_near_the_page() -> None:
    # the profile leaves tuned off (the page's hosts ran tuned network-throughput), a few percent below
    assert measure(EBPF, "TCP_STREAM", host=True) == pytest.approx(41_700, rel=0.1)  # Mbit/s
    assert measure(EBPF, "TCP_RR", host=True) == pytest.approx(47_800, rel=0.1)


def seed_measure(client: str, server: str, test: str, datapath: Datapath | None = None) -> float:
    nodes = {n.name: n for n in profiles.load("seed-mixed").nodes}
    datapath = datapath or Datapath()  # the seed's defaults: VXLAN, kube-proxy, iptables, legacy, Hubble
    cluster = FakeCluster()
    cluster.add("10.42.9.10", nodes[server], datapath)
    ctx = cluster.context(nodes[client], datapath)
    return statistics.median(cilium_cli_netperf(cluster, ctx, "10.42.9.10", test) for _ in range(RUNS))


def test_seed_vms_give_plausible_numbers() -> None:
    stream = seed_measure("vm-1", "vm-2", "TCP_STREAM")
    assert 1_500 < stream < 9_500  # Mbit/s: VXLAN pod-to-pod over a 10G virtio NIC, legacy routing
    assert 2_000 < seed_measure("vm-1", "vm-2", "TCP_RR") < 20_000
    tuned = Datapath(
        routing="native", tunnel_protocol=None, kpr=True, masquerade="bpf", host_routing="bpf", mtu=1500
    )
    assert stream < seed_measure("vm-1", "vm-2", "TCP_STREAM", tuned) <= 10_000 * 1448 / 1538


def test_seed_boards_stay_under_gigabit_and_are_slower() -> None:
    stream = seed_measure("board-1", "board-2", "TCP_STREAM")
    assert 100 < stream < 1_000 * 1448 / 1538
    assert seed_measure("board-1", "board-2", "TCP_RR") < seed_measure("vm-1", "vm-2", "TCP_RR")
