"""Local kernel lab with real packets (root + tools): the issue's Done-when, and clean teardown.

Assertions check direction with a confidence interval, never exact numbers (kernel-lab.md §4.7).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading

import pytest

from cilium_lab.locallab import KNOBS, detect, run, support
from cilium_lab.locallab.knob_runs import measure_knob
from cilium_lab.locallab.knobs import Knob
from cilium_lab.locallab.shell import LocalLabError
from cilium_lab.locallab.topology import LOCK_PATH, Topology
from cilium_lab.results.store import ResultStore, read_samples

pytestmark = [pytest.mark.root, pytest.mark.xdist_group("locallab")]  # one worker: one lab at a time

if os.geteuid() != 0:
    pytest.skip("the local kernel lab needs root", allow_module_level=True)
FEATURES = detect()


def needs(*knobs: str) -> None:
    reasons = {k: r for k, r in support([KNOBS[k] for k in knobs], FEATURES).items() if r}
    if reasons:
        pytest.skip("; ".join(f"{k}: {r}" for k, r in reasons.items()))


def shown(r) -> str:
    return f"{r.knob} {r.test}: A={[round(v) for v in r.values_a]} B={[round(v) for v in r.values_b]} ratio={r.ratio:.3f} [{r.ci_low:.3f}, {r.ci_high:.3f}]"


def leftovers() -> list[str]:
    names = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout.split()
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True).stdout
    return (
        [n for n in names if n.startswith("cl-")]
        + [line for line in links.splitlines() if ": cl-" in line]
        + [LOCK_PATH] * os.path.exists(LOCK_PATH)
    )


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return ResultStore(tmp_path_factory.mktemp("results"), run_id="local-root")


@pytest.fixture(scope="module")
def done_when(store):
    needs("bpf-host-routing", "conntrack", "vxlan")
    results = run(["bpf-host-routing"], samples=4, duration=1, store=store)
    results += run(["vxlan", "conntrack"], samples=10, duration=1, store=store)
    return {(r.knob, r.test): r for r in results}


def test_bpf_host_routing_beats_1000_iptables_rules_on_tcp_rr(done_when):
    r = done_when["bpf-host-routing", "TCP_RR"]
    assert r.label == "LOCAL KERNEL" and len(r.values_a) == len(r.values_b) == 4
    assert r.ci_low > 1.2, shown(r)  # kernel-lab.md §2.7 measured 3x
    assert r.verdict == "better"


def expect(holds: bool, r, *, effect: float) -> None:
    """Assert a CI-based claim; if it does not hold while other load moved single pairs by more than
    the effect itself (shared 2-vCPU host), the run proved nothing either way: skip and say so."""
    if holds:
        return
    if r.pair_spread > effect:
        pytest.skip(
            f"host too noisy for a ~{effect:.0%} effect (pair spread {r.pair_spread:.2f}): {shown(r)}"
        )
    pytest.fail(shown(r))


def test_conntrack_bypass_raises_connections_per_second(done_when):
    r = done_when["conntrack", "TCP_CRR"]
    expect(r.ci_low > 1.0, r, effect=0.08)  # small (+7% in kernel-lab.md §2.2) but real


def test_the_bypass_leaves_the_conntrack_tables_alone(done_when, store):
    r = done_when["conntrack", "TCP_CRR"]
    # each connection is tracked on both nodes with conntrack (kernel-lab.md §2.2: ~20k per 2-s run)
    assert r.counter == "conntrack_entries" and r.counter_a > 1_000, shown(r)
    assert r.counter_b <= 0.01 * r.counter_a, (r.counter_a, r.counter_b)
    frame = store.frame()
    rows = frame[(frame["scenario"] == "conntrack") & (frame["metric"] == "conntrack_entries")]
    assert len(rows) == 2 * len(r.values_a) and set(rows["unit"]) == {"entries"}


def test_vxlan_costs_request_response(done_when):
    r = done_when["vxlan", "TCP_RR"]
    expect(r.ci_high < 1.0, r, effect=0.15)  # ~20 % in kernel-lab.md §2.5; steady here


def test_vxlan_costs_throughput(done_when):
    r = done_when["vxlan", "TCP_STREAM"]
    # 11-29 % node to node in kernel-lab.md §2.5; ~16-20 % pod to pod here, with segments cut at wire size
    expect(r.ci_high < 1.0, r, effect=0.15)


def test_every_sample_is_in_the_results_store_labelled_local_kernel(done_when, store):
    frame = store.frame()
    assert set(frame["label"]) == {"LOCAL KERNEL"} and not frame["simulated"].any()
    for (knob, test), r in done_when.items():
        mine = frame[(frame["scenario"] == knob) & (frame["test"] == test) & (frame["metric"] == r.metric)]
        mine = mine.sort_values("sample")
        assert mine[mine["phase"] == "A"]["value"].tolist() == list(r.values_a), knob
        assert mine[mine["phase"] == "B"]["value"].tolist() == list(r.values_b), knob
        assert r.run_id == "local-root"
    arms = {(f["knob"], f["phase"]): f["arm"] for f in store.fingerprints()}
    assert arms[("vxlan", "A")] == "native routing" and arms[("vxlan", "B")] == "VXLAN"


def test_nothing_is_left_behind_after_a_run(done_when):
    assert leftovers() == []


def test_start_sweeps_leftovers_with_the_prefix():
    needs("iptables-rules")  # the topology starts netservers
    subprocess.run(["ip", "netns", "add", "cl-leftover"], check=True)
    with Topology():
        assert (
            "cl-leftover"
            not in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        )
    assert leftovers() == []


def test_an_error_mid_run_tears_everything_down():
    needs("iptables-rules")

    def boom(topo: Topology) -> None:
        raise LocalLabError("simulated failure while switching arms")

    broken = Knob("broken", "t", "a", "b", ("TCP_RR",), ("root",), apply_a=lambda t: None, apply_b=boom)
    with pytest.raises(LocalLabError, match="simulated failure"):
        measure_knob(broken, samples=2, seconds=1, progress=lambda _m: None)
    assert leftovers() == []


def _watch_for(stream, text: str, seen: threading.Event) -> None:
    for line in stream:
        if text in line:
            seen.set()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_mid_run_tears_everything_down_and_keeps_the_samples_measured(sig, tmp_path):
    needs("iptables-rules")
    # the child says when its own measurement runs (namespaces alone could be another run's)
    code = (
        "from cilium_lab.locallab import run; "
        "run(['iptables-rules'], samples=50, duration=1, progress=lambda m: print(m, flush=True))"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path
    )
    try:
        started = threading.Event()
        reader = threading.Thread(target=_watch_for, args=(child.stdout, "sample 1/", started), daemon=True)
        reader.start()
        # the probe and 1,000 iptables rules come first; slow on a loaded 2-core host
        assert started.wait(timeout=240) and child.poll() is None, "the lab never started measuring"
        child.send_signal(sig)
        err = child.stderr.read()
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode != 0 and "KeyboardInterrupt" in err
    assert leftovers() == []
    (kept,) = tmp_path.glob("runs/*/samples.jsonl")  # the default results store
    frame = read_samples(kept)
    assert len(frame) >= 4 and set(frame["phase"]) == {"A", "B"}  # sample 1: A and B, RR and STREAM


def test_a_lab_on_the_local_target_measures_labels_and_stores_its_samples(tmp_path):
    needs("vxlan")
    out = tmp_path / "out"
    ran = subprocess.run(
        [sys.executable, "-m", "cilium_lab.cli", "run", "01", "--cluster", "local", "-p", "samples", "2",
         "-p", "duration", "1", "--out", str(out)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr[-2000:]
    text = (out / "01-native-routing.ipynb").read_text()
    assert "LOCAL KERNEL · Native routing" in text  # the A/B figure's title
    assert "SIMULATED" not in text
    record = json.loads((out / "results" / "01-native-routing.json").read_text())
    assert record["target"]["label"] == "LOCAL KERNEL"
    assert {row["knob"] for row in record["comparison"]} == {"vxlan"}
    (samples,) = (out / "results" / "samples").glob("*/samples.jsonl")
    frame = read_samples(samples)
    assert set(frame["lab"]) == {"01-native-routing"} and set(frame["label"]) == {"LOCAL KERNEL"}
    assert len(frame) == 2 * 2 * 2  # 2 pairs x (A, B) x (TCP_STREAM, TCP_RR)
    assert leftovers() == []


@pytest.fixture(scope="module")
def other_knobs(store):
    """The knobs beyond the Done-when, 3 pairs each (BIG TCP 6): each must still measure what it claims."""
    results = run(["iptables-rules", "service-nat", "mtu", "bbr"], samples=3, duration=1, store=store)
    # BIG TCP's gain is the smallest of these (+26 % in kernel-lab.md §2.6, +14-40 % here): with 3 pairs
    # one noisy pair left its CI on 1
    results += run(["big-tcp"], samples=6, duration=1, store=store)
    return {(r.knob, r.test): r for r in results}


def measured(results, knob: str, test: str):
    r = results[knob, test]
    if r.verdict == "skipped":
        pytest.skip(f"{knob}: {r.reason}")
    assert len(r.values_a) == len(r.values_b) == r.samples and r.ci_low <= r.ratio <= r.ci_high, shown(r)
    return r


def test_1000_forward_rules_cut_the_request_rate(other_knobs):
    r = measured(other_knobs, "iptables-rules", "TCP_RR")
    expect(r.ci_high < 0.7, r, effect=0.3)  # 0.37x in kernel-lab.md §2.2


def test_10000_services_cut_new_connections(other_knobs):
    r = measured(other_knobs, "service-nat", "TCP_CRR")
    expect(r.ci_high < 0.8, r, effect=0.2)  # 0.42x (nft) in kernel-lab.md §2.3


def test_jumbo_mtu_raises_throughput_with_offloads_off(other_knobs):
    r = measured(other_knobs, "mtu", "TCP_STREAM")
    expect(r.ci_low > 1.0, r, effect=0.3)  # 3.1x in kernel-lab.md §2.4


def test_big_tcp_raises_throughput_with_bpf_host_routing(other_knobs):
    r = measured(other_knobs, "big-tcp", "TCP_STREAM")
    expect(r.ci_low > 1.0, r, effect=0.15)  # +26 % in kernel-lab.md §2.6


def test_bbr_keeps_latency_under_load_low_at_the_same_throughput(other_knobs):
    latency = measured(other_knobs, "bbr", "LATENCY_UNDER_LOAD")
    assert latency.ci_high < 0.5, shown(latency)  # 117 ms vs 4 ms in kernel-lab.md §2.8
    stream = measured(other_knobs, "bbr", "TCP_STREAM")
    assert 0.8 < stream.ratio < 1.25, shown(stream)  # the bottleneck's rate either way


def test_nothing_is_left_behind_after_every_knob(other_knobs):
    assert leftovers() == []
