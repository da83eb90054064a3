"""The benchmark engine end to end on the embedded cluster, reached only through its kubeconfig.

The issue's acceptance: an A/A comparison says no detectable change; legacy against BPF host
routing says improved with a ratio near the calibrated one; an interrupted run leaves no benchmark
pods behind and keeps every finished sample. Everything measured here is SIMULATED.
"""

import pytest

from cilium_lab import bench, targets
from cilium_lab.bench import runner
from cilium_lab.cluster import configmaps, discover, rollout, workloads
from cilium_lab.errors import InputError

# C.2 (shared/reference/cilium-tuning.md), the figure the model's host routing follows (data/perfmodel.yaml
# legacy_host_routing): 1.9 blog, TCP_RR 7.6k -> 22.3k. The profile's legacy nodes keep conntrack, whose
# bypass the model puts at x1.015 RR (C.1 node to node), well inside the tolerance.
CALIBRATED_RR_RATIO = 22.3 / 7.6


@pytest.fixture(scope="module")
def bench2021():
    with targets.open_target("sim:bench-2021") as target:
        rollout.wait(target.connection, discover.find(target.connection), timeout=30)
        yield target


def set_host_routing(conn, legacy: bool) -> None:
    install = discover.find(conn)
    configmaps.patch(
        conn, install.namespace, install.configmap, {"enable-host-legacy-routing": str(legacy).lower()}
    )
    rollout.restart(conn, install.namespace, "cilium")
    assert rollout.wait(conn, discover.find(conn), timeout=30).state == rollout.DONE


def leftovers(conn) -> list:
    return workloads.list_pods(conn, workloads.NAMESPACE) + workloads.list_services(conn, workloads.NAMESPACE)


def test_a_over_a_says_no_detectable_change_and_bpf_host_routing_says_improved(bench2021, tmp_path):
    conn = bench2021.connection
    store = bench.ResultStore(tmp_path, "hostrouting")
    common = {
        "store": store,
        "simulated": bench2021.simulated,
        "tests": "TCP_RR,TCP_STREAM",
        "samples": 10,
        "duration": 10,
        "progress_bar": False,
    }
    set_host_routing(conn, legacy=True)
    bench.measure(conn, lab="06", phase="before", **common)
    bench.measure(conn, lab="06", phase="aa", **common)
    set_host_routing(conn, legacy=False)
    bench.measure(conn, lab="06", phase="after", **common)

    aa = bench.compare(store, "06", before="before", after="aa").set_index(["test", "metric"])
    assert aa.loc[("TCP_RR", "transaction_rate"), "verdict"] == "no detectable change"
    assert aa.loc[("TCP_STREAM", "throughput"), "verdict"] == "no detectable change"

    change = bench.compare(store, "06").set_index(["test", "metric"])
    rr = change.loc[("TCP_RR", "transaction_rate")]
    assert rr["verdict"] == "improved"
    assert rr["ratio"] == pytest.approx(CALIBRATED_RR_RATIO, rel=0.08)
    assert rr["ci_low"] <= rr["ratio"] <= rr["ci_high"]
    assert change.loc[("TCP_RR", "latency_p50"), "verdict"] == "improved"  # lower latency, better
    assert change.attrs["simulated"] is True and bool(change["simulated"].all())
    assert not leftovers(conn)
    fingerprints = {f["phase"]: f for f in store.fingerprints()}
    assert fingerprints["before"]["config_hash"] != fingerprints["after"]["config_hash"]
    node = fingerprints["after"]["benchmark_nodes"][0]
    assert fingerprints["after"]["nodes"][node]["status"]["host_routing"] == "BPF"
    assert fingerprints["before"]["nodes"][node]["status"]["host_routing"] == "Legacy"


def test_an_interrupted_run_removes_its_pods_and_keeps_finished_samples(bench2021, tmp_path, monkeypatch):
    conn = bench2021.connection
    store = bench.ResultStore(tmp_path, "interrupted")
    real = runner.run_sample
    calls = []

    def interrupt_on_the_fourth(*args, **kwargs):
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(runner, "run_sample", interrupt_on_the_fourth)
    with pytest.raises(KeyboardInterrupt):
        bench.measure(
            conn,
            lab="06",
            phase="before",
            store=store,
            simulated=True,
            tests="TCP_RR",
            samples=10,
            duration=5,
            progress_bar=False,
        )
    assert not leftovers(conn)
    frame = bench.ResultStore(tmp_path, "interrupted").frame()  # read back from disk
    assert sorted(set(frame["sample"])) == [0, 1, 2]
    assert frame["ok"].all() and len(frame) == 3 * 7  # transaction rate and six latency fields per sample


def test_leftovers_of_an_older_run_are_swept_at_start(bench2021, tmp_path):
    conn = bench2021.connection
    workloads.ensure_namespace(conn)
    old = workloads.PodSpec(
        "perf-old", "server-pod", "bench-1", False, ("netserver", "-D"), "quay.io/cilium/network-perf:x"
    )
    workloads.create_pod(conn, workloads.NAMESPACE, old, "older-run")
    store = bench.ResultStore(tmp_path, "sweeper")
    m = bench.measure(
        conn,
        lab="00",
        phase="before",
        store=store,
        simulated=True,
        tests="TCP_STREAM_MULTI",
        streams=4,
        samples=1,
        duration=5,
        progress_bar=False,
    )
    assert not leftovers(conn)
    assert m.samples["ok"].all() and m.samples["streams"].tolist() == [4]


def test_every_scenario_runs_with_placement_as_asked(bench2021, tmp_path):
    store = bench.ResultStore(tmp_path, "scenarios")
    m = bench.measure(
        bench2021.connection,
        lab="00",
        phase="before",
        store=store,
        simulated=True,
        tests="TCP_STREAM",
        scenario=list(bench.SCENARIOS),
        samples=1,
        duration=5,
        progress_bar=False,
    )
    by = m.samples.set_index("scenario")
    assert m.failed == 0 and set(by.index) == set(bench.SCENARIOS)
    assert by.loc["pod-to-pod-same-node", "client_node"] == by.loc["pod-to-pod-same-node", "server_node"]
    assert by.loc["pod-to-pod", "client_node"] != by.loc["pod-to-pod", "server_node"]


def test_bad_arguments_fail_before_anything_is_deployed(bench2021, tmp_path):
    conn, store = bench2021.connection, bench.ResultStore(tmp_path, "bad")
    for kwargs, message in (
        ({"duration": 2.5}, "whole number of seconds"),
        ({"tests": "UDP_RR"}, "unknown netperf test"),
        ({"scenario": "pod-to-moon"}, "unknown scenario"),
        ({"samples": 0}, "samples must be"),
        ({"client_node": "nope"}, "not a ready, schedulable node"),
    ):
        with pytest.raises(InputError, match=message):
            bench.measure(
                conn, lab="06", phase="before", store=store, simulated=True, progress_bar=False, **kwargs
            )
    assert store.frame().empty and not leftovers(conn)
