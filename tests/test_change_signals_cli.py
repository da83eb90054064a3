"""Real signals to `cilium-lab` in a subprocess. Ctrl-C or SIGTERM once while `cilium-lab run 02 --approve`
rolls out (issue 13: it exited 0 and cilium-config kept the new, unverified value), against a cluster that
`cilium-lab sim serve` serves from its own process, as a user runs it: the fault is set through its admin
endpoint, and the rollback checked with kubectl. Against the embedded cluster served from this process: a
change killed with SIGKILL that the next change refuses and `cilium-lab recover --approve` finishes, and a
500 on the restart after the patch."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from kubernetes import config

from cilium_lab.change import journal, lock
from cilium_lab.cluster import configmaps, workloads

NS, CM = "kube-system", "cilium-config"
ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "cilium_lab.cli"]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def _wait_for_step(results: Path, step: str, proc: subprocess.Popen, timeout: float = 180) -> None:
    """Until the run's journal shows `step` begun (the change's own progress, as it writes it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        for _, record in journal.disk_journals(results):
            if step in [s["step"] for s in record.get("steps", [])]:
                return
        time.sleep(0.2)
    proc.kill()
    pytest.fail(f"the change never reached {step!r}: {proc.communicate()}")


def _lock_free(conn) -> bool:
    return lock.status(conn, NS) is None  # the change lease was released


def _bench_pods(conn) -> list[str]:
    listing = conn.core.list_namespaced_pod(workloads.NAMESPACE, _preload_content=False).json()
    return [p["metadata"]["name"] for p in listing.get("items", [])]


@pytest.fixture
def served(tmp_path):
    """`cilium-lab sim serve` in its own process; yields its kubeconfig, stopped with SIGTERM after."""
    kubeconfig = tmp_path / "sim" / "kubeconfig"
    kubeconfig.parent.mkdir()
    server = subprocess.Popen(
        [*CLI, "sim", "serve", "--kubeconfig", str(kubeconfig)],
        env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        line = server.stdout.readline()  # written once it serves
        assert "serving on https://127.0.0.1:" in line, line + server.stderr.read()
        yield kubeconfig
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


def _faults(kubeconfig: Path, document: dict) -> None:
    """Set the served cluster's faults through its admin endpoint (PUT /_sim/faults, the admin's token)."""
    api = config.new_client_from_config(config_file=str(kubeconfig), context="admin")
    cfg = api.configuration
    (token,) = cfg.api_key.values()  # "Bearer ..." as the kubeconfig's admin user has it
    headers = {"Content-Type": "application/json", "Authorization": token}
    answer = api.call_api("PUT", cfg.host + "/_sim/faults", header_params=headers, body=document)
    assert answer.status == 200, answer.read()
    state = json.loads(answer.read())
    assert state["stuck_rollout"] == document.get("stuck_rollout", False), state  # the server took it


def _kubectl(kubeconfig: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["kubectl", f"--kubeconfig={kubeconfig}", f"--cache-dir={kubeconfig.parent / 'cache'}", *args],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def _config_data(kubeconfig: Path) -> dict[str, str]:
    done = _kubectl(kubeconfig, "-n", NS, "get", "configmap", CM, "-o", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["data"]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_one_signal_while_run_rolls_out_rolls_back_and_exits_130_or_143(served, tmp_path, sig):
    before = _config_data(served)
    _faults(served, {"stuck_rollout": True})  # the rollout waits until the signal has come
    out = tmp_path / "out"
    argv = ["run", "02", "--cluster", "kube", "--kubeconfig", str(served), "--approve"]
    proc = subprocess.Popen(
        [*CLI, *argv, "--out", str(out), "-p", "samples", "2"],
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_for_step(out / "results", "roll out", proc)
    assert _config_data(served) != before  # the patch is in: the signal comes after the first write
    proc.send_signal(sig)
    time.sleep(1.0)
    _faults(served, {})  # the change's config was not the problem: the rollback's rollout finishes
    _, err = proc.communicate(timeout=180)
    expected = 130 if sig == signal.SIGINT else 143
    assert proc.returncode == expected, err
    assert "passed to the lab's kernel" in err and "02-kube-proxy-replacement" in err
    assert _config_data(served) == before  # not the new, unverified value
    lease = _kubectl(served, "-n", NS, "get", "lease", lock.NAME)
    assert lease.returncode == 1 and "NotFound" in lease.stderr  # the change lease was released
    journals = _kubectl(served, "-n", NS, "get", "configmaps", "-l", f"{journal.LABEL}=open", "-o", "name")
    assert journals.returncode == 0 and journals.stdout.strip() == ""  # the journal was closed
    pods = _kubectl(served, "-n", workloads.NAMESPACE, "get", "pods", "-o", "name")
    assert pods.returncode == 0 and pods.stdout.strip() == ""  # no benchmark pod left
    rollout = _kubectl(served, "-n", NS, "rollout", "status", "ds/cilium", "--timeout=60s")
    assert rollout.returncode == 0, rollout.stderr  # the rollback's own rollout finished
    record = json.loads((out / "results" / "02-kube-proxy-replacement.json").read_text())
    assert record["exit_code"] == expected and record["apply"]["interrupted"] == sig.name
    assert record["apply"]["outcome"] == "rolled back" and record["apply"]["backup_path"]


KILLED = """
import os, signal, sys
from cilium_lab.change.config import applying
from cilium_lab.change.config.planning import plan
from cilium_lab.cluster import snapshot
from cilium_lab.cluster.connect import connect

conn = connect(sys.argv[1])

def die(line):
    if line.startswith("rollout of "):
        os.kill(os.getpid(), signal.SIGKILL)  # kill -9: no handler, no cleanup

applying.apply(conn, plan(snapshot.take(conn), "kube-proxy-replacement"), approved=True, timeout=60,
               results_dir=sys.argv[2], progress=die)
"""


def test_a_killed_change_is_refused_next_and_recover_finishes_it(embedded, conn, tmp_path):
    before = configmaps.read(conn, NS, CM).data
    embedded.faults.stuck_rollout()
    runs = tmp_path / "runs"
    killed = subprocess.run(
        [sys.executable, "-c", KILLED, str(embedded.kubeconfig), str(runs)], env=ENV, timeout=120, check=False
    )
    assert killed.returncode == -signal.SIGKILL
    embedded.faults.clear()
    assert configmaps.read(conn, NS, CM).data != before  # the change was left half done
    target = ["--cluster", "kube", "--kubeconfig", str(embedded.kubeconfig)]

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*CLI, *args], env=ENV, capture_output=True, text=True, timeout=180, check=False
        )

    next_change = cli("run", "02", *target, "--approve", "--out", str(tmp_path / "next"))
    assert next_change.returncode == 3, next_change.stderr  # refused: the dead run still holds the change
    found = cli("recover", *target, "--results-dir", str(runs))
    assert found.returncode == 6, found.stderr
    assert (
        "its process: dead" in found.stdout and "steps done:" in found.stdout and "roll out" in found.stdout
    )
    done = cli("recover", *target, "--results-dir", str(runs), "--approve")
    assert done.returncode == 0, done.stdout + done.stderr
    assert configmaps.read(conn, NS, CM).data == before
    assert _lock_free(conn) and journal.cluster_journals(conn, NS) == [] and journal.disk_journals(runs) == []
    again = cli("recover", *target, "--results-dir", str(runs))
    assert again.returncode == 0 and "nothing to recover" in again.stdout


def test_a_500_on_the_restart_after_the_patch_exits_5_with_a_record_that_says_so(embedded, conn, tmp_path):
    """Issue 13: no rollback, the notebook said "Not applied", the record had `apply: null`, exit 0."""
    before = configmaps.read(conn, NS, CM).data
    embedded.faults.api_error("patch", "daemonsets", 500, times=1)
    out = tmp_path / "out"
    argv = ["run", "02", "--cluster", "kube", "--kubeconfig", str(embedded.kubeconfig), "--approve"]
    done = subprocess.run(
        [*CLI, *argv, "--out", str(out), "-p", "samples", "2"],
        env=ENV, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 5, done.stderr
    assert "02-kube-proxy-replacement: rolled back" in done.stderr and "exit 5" in done.stderr
    record = json.loads((out / "results" / "02-kube-proxy-replacement.json").read_text())
    assert record["exit_code"] == 5 and record["apply"]["outcome"] == "rolled back"
    assert "500" in record["apply"]["message"] and record["apply"]["backup_path"]
    assert configmaps.read(conn, NS, CM).data == before
    assert _lock_free(conn) and journal.cluster_journals(conn, NS) == []
