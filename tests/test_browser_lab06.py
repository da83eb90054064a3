"""Lab 06 in JupyterLab, in headless Chromium, as a learner runs it: the confirmation works for a person.

Starts JupyterLab (tests/browser/lab_server.py) on temp copies of lab 06 (tests/browser/lab_copy.py),
and drives each with tests/browser/drive_lab.js: run the cells above the confirmation from the Run
menu, check the plan and the Apply button, click Apply (or Cancel, in a second kernel), run the
cells below, and read what the page shows: the per-node verification, the kernel's view of
cilium-config, the comparison and its plot, the record's closing words. Two copies pin legacy host
routing first (an operator's choice, leaving lab 06 a change to make); the third is lab 06 as a learner
opens it on the notebook's own fresh cluster, where it demonstrates BPF against legacy host routing. Every browser request off the loopback is aborted
and must not happen. Screenshots go to test-artifacts/browser/ (git-ignored).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from browser import lab_copy, lab_server

from cilium_lab.notebooks import LABS_DIR
from cilium_lab.session import LabSession

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser"), pytest.mark.timeout(900)]

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "test-artifacts" / "browser"
RENDERERS = {"@jupyter-widgets/jupyterlab-manager", "jupyterlab-plotly"}
NODES = {"vm-1", "vm-2", "vm-3", "board-1", "board-2", "board-3"}


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory):
    reason = lab_server.missing_tools()
    if reason:
        pytest.skip(reason)
    missing = lab_copy.missing_steps(LABS_DIR, LabSession)
    if missing:
        pytest.skip(f"lab 06 calls lab.{', lab.'.join(missing)}, which LabSession does not have yet")
    root = tmp_path_factory.mktemp("labs")
    for run in ("apply", "cancel"):  # one notebook each: a kernel each, so a cluster each
        lab_copy.write(LABS_DIR, root / run)
    lab_copy.write(LABS_DIR, root / "demo", pin_legacy=False)
    with lab_server.running_jupyterlab(root, tmp_path_factory.mktemp("jupyter-home")) as lab:
        yield lab


def _drive(jupyterlab, run: str, click: str, tmp_path: Path) -> dict:
    result = lab_server.drive(
        jupyterlab.notebook_url(f"{run}/{lab_copy.LAB}.ipynb"), run, click, tmp_path / "shots", tmp_path
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for shot in result["shots"].values():
        kept = ARTIFACTS / Path(shot).name
        shutil.copyfile(shot, kept)
        print(f"screenshot: {kept}")
    return result


def _explain(result: dict) -> str:
    keys = ("failure", "steps", "errors_before", "errors_after", "blocked", "console_errors")
    return "; ".join(f"{k}={result.get(k)!r}" for k in keys if result.get(k))


def _nothing_left_loopback(result: dict) -> None:
    assert result["blocked"] == [], f"the page tried to reach beyond 127.0.0.1: {result['blocked']}"
    assert result["websockets"], "the notebook opened no kernel websocket"
    assert all(u.startswith("ws://127.0.0.1:") for u in result["websockets"]), result["websockets"]
    # The widget and plotly renderers are the labextensions of the installed Python packages.
    loaded = set(result["extensions"])
    assert loaded >= RENDERERS, loaded


def _confirmation_shown(result: dict) -> None:
    assert "Plan: BPF host routing" in result["plan"], _explain(result)
    assert lab_copy.KEY in result["plan"], result["plan"]
    assert {"Apply", "Cancel"} <= {b.strip() for b in result["buttons"]}, result["buttons"]
    assert "not applied: run with approve=True or click Apply" in result["confirm"]


def test_apply_in_jupyterlab_changes_the_cluster_and_shows_nodes_and_plot(jupyterlab, tmp_path):
    result = _drive(jupyterlab, "apply", "Apply", tmp_path)
    _confirmation_shown(result)
    assert "Apply bpf-host-routing:" in result.get("clicked", ""), _explain(result)
    assert all(result["buttons_disabled_after"]), "Apply/Cancel stay clickable after the click"
    before = lab_copy.marked(result["setup"], lab_copy.SETUP)
    after = lab_copy.marked(result.get("check", ""), lab_copy.CHECK)
    assert before == {lab_copy.KEY: "true"}, result["setup"]
    assert after is not None, _explain(result)
    # only the nodes that can take it changed (CiliumNodeConfig); cilium-config kept the boards' value
    assert after["cilium-config"] == "true", after
    assert {n: after[n] for n in NODES} == {n: "false" if n.startswith("vm-") else "true" for n in NODES}, (
        after
    )
    assert after["outcome"] == after["decision"] == "applied", after
    # Per node, as the kernels allow: the VMs (6.2) take BPF host routing, the boards (4.19) refuse.
    rows = {row[0]: row[1] for row in result["verify_rows"]}
    assert rows == {n: "applied" if n.startswith("vm-") else "refused" for n in NODES}, result["verify"]
    assert "nothing was applied" not in result["verify"]
    assert result["after"].strip(), f"the measurement after the change showed nothing: {_explain(result)}"
    assert result["plots"] >= 1, f"no plotly figure in the comparison: {_explain(result)}"
    assert "SIMULATED" in result["compare"], "a figure from the embedded cluster must say SIMULATED"
    assert not [e for e in result["errors_after"] if "Error" in e], result["errors_after"]
    _nothing_left_loopback(result)


def test_cancel_in_jupyterlab_changes_nothing(jupyterlab, tmp_path):
    result = _drive(jupyterlab, "cancel", "Cancel", tmp_path)
    _confirmation_shown(result)
    assert "cancelled: nothing changed" in result.get("clicked", ""), _explain(result)
    assert all(result["buttons_disabled_after"])
    before = lab_copy.marked(result["setup"], lab_copy.SETUP)
    after = lab_copy.marked(result.get("check", ""), lab_copy.CHECK)
    assert after is not None, _explain(result)
    assert after["cilium-config"] == before[lab_copy.KEY], f"cilium-config changed after Cancel: {after}"
    assert all(after[n] == "true" for n in NODES), f"a node config changed after Cancel: {after}"
    assert after["outcome"] is None and after["decision"] in {"not approved", "cancelled"}, after
    assert "nothing was applied" in result["verify"]
    assert {row[0]: row[1] for row in result["verify_rows"]} == dict.fromkeys(NODES, "-"), result["verify"]
    _nothing_left_loopback(result)


def test_lab_06_as_opened_demonstrates_bpf_against_legacy_host_routing_on_the_vms(jupyterlab, tmp_path):
    """Nothing pinned: the kernel's own fresh cluster, caught up with labs 01-05, has BPF host routing on
    the VMs already. Apply runs the demonstration (legacy pinned on the VMs, measured, the backup put
    back) and the page shows what the article does: legacy against BPF host routing, TCP_RR about x2-3
    (SIMULATED), and the boards left on legacy with the kernel as the reason and lab 05 as the advice."""
    result = _drive(jupyterlab, "demo", "Apply", tmp_path)
    _confirmation_shown(result)
    assert "Demonstration." in result["plan"], result["plan"]
    assert "switched off on vm-1, vm-2, vm-3 for a demonstration" in result["plan"], result["plan"]
    clicked = result.get("clicked", "")
    assert "switched off on vm-1, vm-2, vm-3 (verified), measured, and back as found" in clicked, _explain(
        result
    )
    assert all(result["buttons_disabled_after"]), "Apply/Cancel stay clickable after the click"

    rows = {row[0]: row for row in result["verify_rows"]}
    assert {n: rows[n][1] for n in NODES} == {
        n: "applied" if n.startswith("vm-") else "refused" for n in NODES
    }
    for vm in ("vm-1", "vm-2", "vm-3"):  # what its agent showed switched off, then on again
        assert "host_routing = Legacy" in rows[vm][2] and "host_routing = BPF" in rows[vm][2], rows[vm]
    for board in ("board-1", "board-2", "board-3"):
        assert "older than 5.10" in rows[board][2], rows[board]
        assert "host_routing = Legacy" in rows[board][4], rows[board]  # observed: still legacy

    compare = result["compare"]
    assert "Demonstration on vm-1, vm-2, vm-3: BPF host routing switched off" in compare, compare
    assert "host_routing = Legacy" in compare and "against on again" in compare, compare
    assert "SIMULATED" in compare, "a figure from the embedded cluster must say SIMULATED"
    [rr] = [r for r in result["compare_rows"] if r["test"] == "TCP_RR" and r["metric"] == "transaction_rate"]
    assert float(rr["ratio"]) >= 2.0, rr  # legacy -> BPF host routing on the VMs
    assert result["plots"] >= 1, f"no plotly figure in the comparison: {_explain(result)}"

    finish = result["finish"]
    assert "Where BPF host routing cannot be had** (board-1, board-2, board-3)" in finish or (
        "Where BPF host routing cannot be had (board-1, board-2, board-3)" in finish
    ), finish
    assert "older than 5.10" in finish and "(lab 05)" in finish, finish
    assert "demonstrated (switched off and back on; the cluster as found)" in finish, finish
    # the cluster as found: no CiliumNodeConfig of the demonstration left, legacy routing pinned nowhere
    after = lab_copy.marked(result.get("check", ""), lab_copy.CHECK)
    assert after is not None, _explain(result)
    assert {k: after[k] for k in ("cilium-config", *NODES)} == dict.fromkeys(
        ("cilium-config", *NODES), "(absent)"
    )
    assert not [e for e in result["errors_after"] if "Error" in e], result["errors_after"]
    _nothing_left_loopback(result)
