"""Faults during a change on the embedded cluster: a NotReady node, a 500 on a snapshot read, the progress
callback's order, and the Helm-managed warning with its exact `helm upgrade` command."""

from __future__ import annotations

import time

import pytest

from cilium_lab.change import outcomes
from cilium_lab.change.config import applying as change_apply
from cilium_lab.change.config.planning import plan
from cilium_lab.cluster import apierrors, configmaps, rollout, snapshot
from cilium_lab.errors import InputError

NS, CM = "kube-system", "cilium-config"
KPR_HELM = (
    "helm upgrade cilium cilium/cilium --namespace kube-system --reuse-values --version 1.13.4"
    " --set kubeProxyReplacement=strict"
)


def _not_ready(embedded, conn, node: str) -> None:
    embedded.faults.node_not_ready(node)
    deadline = time.monotonic() + 5
    while not rollout.not_ready_nodes(conn, [node]):
        assert time.monotonic() < deadline, f"{node} never turned NotReady"
        time.sleep(0.05)


def _cluster_state(conn):
    listing = configmaps.read(conn, NS, CM)
    names = {
        c["metadata"]["name"]
        for c in conn.core.list_namespaced_config_map(NS, _preload_content=False).json()["items"]
    }
    return listing.data, names


def test_not_ready_node_is_refused_up_front_naming_it(embedded, conn, tmp_path):
    _not_ready(embedded, conn, "vm-2")
    planned = plan(snapshot.take(conn), "kube-proxy-replacement")
    assert planned.not_ready == ("vm-2",)
    assert "vm-2: applied - can enable: expected to take the change (node NotReady: apply refuses" in str(
        planned
    )
    before = _cluster_state(conn)
    started = time.monotonic()
    with pytest.raises(
        change_apply.NodesNotReady, match=r"NotReady: vm-2 \(Ready=False: .*allow_not_ready=True"
    ) as e:
        change_apply.apply(conn, planned, approved=True, timeout=20, results_dir=str(tmp_path))
    assert time.monotonic() - started < 5 and "\n" not in str(e.value)
    assert _cluster_state(conn) == before  # no patch, no lock, no backup ConfigMap


def test_not_ready_node_allowed_is_skipped_and_the_rest_applied(embedded, conn, tmp_path):
    _not_ready(embedded, conn, "vm-2")
    planned = plan(snapshot.take(conn), "kube-proxy-replacement")
    report = change_apply.apply(
        conn, planned, approved=True, timeout=20, results_dir=str(tmp_path), allow_not_ready=True
    )
    assert report.outcome == outcomes.APPLIED
    assert report.nodes["vm-2"].outcome == outcomes.SKIPPED and "NotReady" in report.nodes["vm-2"].reason
    assert {o.outcome for n, o in report.nodes.items() if n != "vm-2"} == {outcomes.APPLIED}
    assert not any(s.startswith("deleted agent pod") and s.endswith("vm-2") for s in report.steps)


def test_not_ready_node_outside_the_canary_does_not_block_it(embedded, conn, tmp_path):
    _not_ready(embedded, conn, "vm-2")
    planned = plan(snapshot.take(conn), "kube-proxy-replacement", nodes=["vm-1"])
    assert planned.not_ready == ()
    report = change_apply.apply(conn, planned, approved=True, timeout=20, results_dir=str(tmp_path))
    assert report.nodes["vm-1"].outcome == outcomes.APPLIED


def test_allow_not_ready_must_be_a_bool(conn, tmp_path):
    planned = plan(snapshot.take(conn), "kube-proxy-replacement")
    with pytest.raises(InputError, match="allow_not_ready must be True or False"):
        change_apply.apply(conn, planned, approved=True, allow_not_ready="yes", results_dir=str(tmp_path))


def test_one_transient_500_on_a_snapshot_read_is_retried(embedded, conn):
    embedded.faults.api_error("list", "nodes", 500, times=1)
    snap = snapshot.take(conn)
    assert len(snap.nodes) == 6
    assert embedded.faults.dump()["api"][0]["times"] == 0  # the fault did fire once


def test_a_persistent_500_on_a_snapshot_read_is_one_clear_error(embedded, conn):
    embedded.faults.api_error("get", "configmaps", 500)
    with pytest.raises(apierrors.ServerError) as caught:
        snapshot.take(conn)
    message = str(caught.value)
    assert message.startswith(
        "the API server answered 500 Internal Server Error to get configmaps 'cilium-config'"
    )
    assert "\n" not in message


def test_progress_receives_every_step_in_order(conn, tmp_path):
    seen: list[str] = []
    planned = plan(snapshot.take(conn), "kube-proxy-replacement")
    report = change_apply.apply(
        conn, planned, approved=True, timeout=20, results_dir=str(tmp_path), progress=seen.append
    )
    assert report.outcome == outcomes.APPLIED and seen == report.steps
    order = ["lock kube-system/cilium-lab-lock taken", "saved cilium-config", "patched kube-system/cilium-config",
             "restarted kube-system/cilium", "rollout of kube-system/cilium", "rolled out in", "verified: ",
             "lock kube-system/cilium-lab-lock released"]  # fmt: skip
    firsts = [next(i for i, line in enumerate(seen) if line.startswith(prefix)) for prefix in order]
    assert firsts == sorted(firsts) and firsts[-1] == len(seen) - 1


def test_helm_managed_config_warns_with_the_exact_helm_command(conn, tmp_path):
    planned = plan(snapshot.take(conn), "kube-proxy-replacement")
    assert planned.helm_managed and planned.helm_command == KPR_HELM
    report = change_apply.apply(conn, planned, approved=True, timeout=20, results_dir=str(tmp_path))
    assert report.warnings == [
        "Helm manages cilium-config: the next `helm upgrade` undoes this patch unless the values change too: "
        + KPR_HELM
    ]
    assert (
        f"  warning: Helm manages cilium-config: the next `helm upgrade` undoes this patch unless the values change too: {KPR_HELM}"
        in report.to_text().splitlines()
    )
