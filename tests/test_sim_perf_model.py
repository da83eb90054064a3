"""The performance model's pure API: each effect moves the numbers the way its source says.

Checks `network_model.expected` directly (no noise) on the C.1 hardware and the seed nodes, plus the
seeded sampler's reproducibility and the constants loader's errors. SIMULATED values throughout.
"""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path as FsPath

import pytest
from sim_perf_fakes import EBPF, LEGACY_BLOG, LEGACY_PAGE, bench_node

from cilium_lab.errors import InputError
from cilium_lab.sim.agent.datapath import Datapath
from cilium_lab.sim.perf import constants, network_model, noise
from cilium_lab.sim.perf.path import Path, Side
from cilium_lab.sim.state import profiles

A, B = bench_node("n1", "10.0.0.1"), bench_node("n2", "10.0.0.2")
SEED = {n.name: n for n in profiles.load("seed-mixed").nodes}


def pods(datapath: Datapath, a=A, b=B, **path) -> Path:
    return Path(Side(a, datapath, False), Side(b, datapath, False), **path)


def rate(path: Path, test: str = "TCP_STREAM", concurrent: int = 1, **kwargs) -> float:
    return network_model.expected(path, test, concurrent, **kwargs).rate


def test_vxlan_tunnel_costs_throughput_and_native_routing_wins_it_back() -> None:
    vxlan = replace(EBPF, routing="tunnel", tunnel_protocol="vxlan", mtu=1450)
    geneve = replace(vxlan, tunnel_protocol="geneve")
    assert rate(pods(vxlan)) / rate(pods(EBPF)) == pytest.approx(0.704 * (1450 / 1500) ** 0.2, rel=1e-3)
    assert rate(pods(geneve)) < rate(pods(vxlan)) < rate(pods(EBPF))
    assert rate(pods(vxlan), "TCP_RR") < rate(pods(EBPF), "TCP_RR")


def test_notrack_helps_legacy_crr_as_measured_here_and_does_nothing_with_bpf_host_routing() -> None:
    with_ct = replace(LEGACY_PAGE, no_conntrack=False)
    one = rate(pods(LEGACY_PAGE), "TCP_CRR") / rate(pods(with_ct), "TCP_CRR")
    assert 1.07 <= one <= 1.16  # the local kernel lab's TCP_CRR range (README)
    assert rate(pods(LEGACY_PAGE), "TCP_RR") / rate(pods(with_ct), "TCP_RR") < 1.05
    assert rate(pods(replace(EBPF, no_conntrack=False)), "TCP_CRR") == rate(pods(EBPF), "TCP_CRR")
    many = rate(pods(LEGACY_PAGE), "TCP_CRR", 32) / rate(pods(with_ct), "TCP_CRR", 32)
    assert many == pytest.approx(228 / 127, rel=0.1)  # C.1 blog, node to node at 32: the knob alone


def test_big_tcp_adds_its_published_gain_only_with_both_nodes() -> None:
    big = replace(EBPF, ipv4_big_tcp=True, big_tcp_size=196608)
    assert rate(pods(big)) / rate(pods(EBPF)) == pytest.approx(1.45)
    assert rate(Path(Side(A, big, False), Side(B, EBPF, False))) == rate(pods(EBPF))
    assert rate(pods(replace(EBPF, ipv6_big_tcp=True))) == rate(pods(EBPF))  # the traffic is IPv4


def test_jumbo_frames_raise_a_single_stream_and_an_mtu_above_the_underlay_collapses_it() -> None:
    jumbo = replace(EBPF, mtu=9000, device_mtu=9000)
    assert rate(pods(jumbo)) / rate(pods(EBPF)) == pytest.approx(6**0.2, rel=1e-3)
    narrow = [replace(n, underlay_mtu=1500) for n in (A, B)]
    assert rate(pods(jumbo, *narrow)) < rate(pods(EBPF)) / 1000
    assert network_model.expected(pods(jumbo, *narrow), "TCP_STREAM").retransmits_per_s > 0
    assert rate(pods(jumbo, *narrow), "TCP_RR") == pytest.approx(
        rate(pods(jumbo), "TCP_RR")
    )  # small packets pass


def test_hubble_costs_between_one_and_fifteen_percent() -> None:
    for test in ("TCP_STREAM", "TCP_RR", "TCP_CRR"):
        cost = 1 - rate(pods(replace(EBPF, hubble=True)), test) / rate(pods(EBPF), test)
        assert 0.01 <= cost <= 0.15, test


def test_bbr_keeps_throughput_under_loss_where_cubic_collapses() -> None:
    lossy = {"loss_rate": 0.02}
    cubic = rate(pods(EBPF, perf=lossy))
    bbr = rate(pods(replace(EBPF, bandwidth_manager=True, congestion="bbr"), perf=lossy))
    assert bbr > 3 * cubic
    assert rate(pods(replace(EBPF, congestion="bbr"))) == rate(pods(EBPF))  # no loss: no difference
    retrans = [
        network_model.expected(pods(replace(EBPF, congestion=c), perf=lossy), "TCP_STREAM")
        for c in ("cubic", "bbr")
    ]
    assert retrans[1].retransmits_per_s > retrans[0].retransmits_per_s


def test_bandwidth_manager_cuts_tail_latency_under_load() -> None:
    plain = network_model.expected(pods(EBPF), "TCP_RR", load=4)
    managed = network_model.expected(pods(replace(EBPF, bandwidth_manager=True)), "TCP_RR", load=4)
    idle = network_model.expected(pods(EBPF), "TCP_RR")
    assert plain.p99_load > 10 and idle.p99_load == 1.0
    assert (plain.p99_load - 1) / (managed.p99_load - 1) == pytest.approx(10)
    assert (plain.p90_load - 1) / (managed.p90_load - 1) == pytest.approx(20)


def test_preemption_and_host_tuning_change_rr_a_little_and_jitter_more() -> None:
    full = [replace(n, preempt="full") for n in (A, B)]
    untuned = [
        replace(n, host={"governor": "ondemand", "tuned_profile": "none", "irqbalance": "active"})
        for n in (A, B)
    ]
    base = network_model.expected(pods(EBPF), "TCP_RR")
    preempt = network_model.expected(pods(EBPF, *full), "TCP_RR")
    loose = network_model.expected(pods(EBPF, *untuned), "TCP_RR")
    assert 0.9 < preempt.rate / base.rate < 1.0 and preempt.tail > base.tail
    assert loose.rate < preempt.rate and loose.tail > preempt.tail
    assert rate(pods(EBPF, *full)) == rate(pods(EBPF))  # preemption is a latency effect only


def test_line_rate_caps_streams_and_cpus_limit_scaling() -> None:
    assert network_model.expected(pods(EBPF), "TCP_STREAM", 32).aggregate == pytest.approx(
        100_000 * 1448 / 1538 * 0.972
    )
    vm = SEED["vm-1"], SEED["vm-2"]
    assert network_model.expected(pods(EBPF, *vm), "TCP_STREAM", 8).aggregate <= 10_000
    assert network_model.expected(pods(EBPF), "TCP_RR", 64).aggregate == pytest.approx(
        network_model.expected(pods(EBPF), "TCP_RR", 32).aggregate
    )


def test_same_node_skips_the_wire_and_arm64_boards_are_slower() -> None:
    host_same = Path(Side(A, EBPF, True), Side(A, EBPF, True))
    host_other = Path(Side(A, EBPF, True), Side(B, EBPF, True))
    assert rate(host_same) > rate(host_other)
    boards = SEED["board-1"], SEED["board-2"]
    vms = SEED["vm-1"], SEED["vm-2"]
    assert rate(pods(LEGACY_BLOG, *boards), "TCP_RR") < rate(pods(LEGACY_BLOG, *vms), "TCP_RR")
    assert rate(pods(LEGACY_BLOG, *boards)) < 1000


def test_services_kpr_socket_lb_beats_kube_proxy_and_xdp_dsr_help_nodeport() -> None:
    kube_proxy = replace(EBPF, kpr=False)
    assert rate(pods(EBPF, service="clusterip"), "TCP_CRR") > rate(
        pods(kube_proxy, service="clusterip"), "TCP_CRR"
    )
    lb = bench_node("lb", "10.0.0.3")
    snat = rate(pods(EBPF, service="nodeport", lb=Side(lb, EBPF, True)), "TCP_CRR")
    xdp_dsr = replace(EBPF, xdp="native", lb_mode="dsr")
    fast = rate(pods(EBPF, service="nodeport", lb=Side(lb, xdp_dsr, True)), "TCP_CRR")
    slow = rate(pods(EBPF, service="nodeport", lb=Side(lb, kube_proxy, True)), "TCP_CRR")
    assert slow < snat < fast


def test_every_applied_effect_is_named() -> None:
    names = [
        name
        for name, _ in network_model.expected(
            pods(Datapath(hubble=True), *(SEED["vm-1"], SEED["vm-2"])), "TCP_RR"
        ).factors
    ]
    assert {
        "legacy_host_routing@vm-1",
        "legacy_iptables_conntrack@vm-2",
        "tunnel_vxlan",
        "hubble@vm-1",
    } <= set(names)


def test_samples_are_reproducible_per_seed_and_spread_realistically() -> None:
    expectation = network_model.expected(pods(EBPF), "TCP_RR")
    first = [noise.sample(expectation, random.Random(5)) for _ in range(3)]
    again = [noise.sample(expectation, random.Random(5)) for _ in range(3)]
    assert first == again
    rng = random.Random(11)
    runs = [noise.sample(expectation, rng) for _ in range(300)]
    rates = [r.rate for r in runs]
    spread = (sum((x - expectation.rate) ** 2 for x in rates) / len(rates)) ** 0.5 / expectation.rate
    assert 0.02 < spread < 0.12
    assert all(r.min_us <= r.p50_us <= r.p90_us <= r.p99_us <= r.max_us for r in runs)


def test_bad_requests_raise_input_errors() -> None:
    with pytest.raises(InputError, match="unknown netperf test"):
        network_model.expected(pods(EBPF), "SCTP_STREAM")
    with pytest.raises(InputError, match="concurrent must be >= 1"):
        network_model.expected(pods(EBPF), "TCP_RR", 0)
    with pytest.raises(InputError, match="unknown hardware class"):
        network_model.expected(pods(EBPF, perf={"hardware_class": {"n1": "cray"}}), "TCP_RR")


def test_malformed_constants_are_refused(tmp_path: FsPath) -> None:
    broken = tmp_path / "network_model.yaml"
    broken.write_text("hardware: {}\n")
    with pytest.raises(InputError, match="lacks section"):
        constants.load(broken)
    unsourced = tmp_path / "unsourced.yaml"
    text = constants.PERFMODEL_FILE.read_text().replace(
        '    basis: estimate\n    why: "no per-packet NAT',
        '    basis: estimate\n    note: "no per-packet NAT',
    )
    unsourced.write_text(text)
    with pytest.raises(InputError, match="kpr_socket_lb"):
        constants.load(unsourced)


def test_small_tcp_sends_cost_throughput_as_cilium_cli_saw() -> None:
    vm = SEED["vm-1"], SEED["vm-2"]
    tuned = pods(EBPF, *vm)
    default = rate(tuned)
    assert rate(tuned, message=1024) / default == pytest.approx(
        0.16, abs=0.05
    )  # cilium-cli#2695: ~1500 of ~9500
    assert rate(tuned, message=65536) == default
    assert rate(pods(EBPF), message=65536) == rate(pods(EBPF))
