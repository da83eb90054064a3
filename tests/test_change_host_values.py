"""Hostile values on lab 15's host path never reach a node's root shell: through lab 15's apply inputs (the tuned
profile, a plan edited by hand, the NIC name a node reports), through values a node answers (tuned profile,
CPU governor, IRQ affinity, as the emulated node is made to return them) and through restore-host files (each
field, an IRQ key "²"). Each stops with one line; the emulator's exec log shows no write command and no
hostile text reached any shell."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from test_change_host import host_facts, host_pods
from test_change_host_restore import tune

from cilium_lab.change import outcomes
from cilium_lab.change.host import host_node, host_restore, values
from cilium_lab.change.host import tuning as host
from cilium_lab.cli import main
from cilium_lab.cluster import privileged, snapshot
from cilium_lab.errors import ClusterError, InputError

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = ["x\n", "x;reboot", "$(reboot)", "`reboot`", "x reboot", "x'reboot", "²", "٣", "a" * 300]
WRITES = ("tuned-adm profile", "tuned-adm off", "systemctl disable", "systemctl enable", "systemctl stop",
          "systemctl start", "apt-get", "tee ")  # fmt: skip
GOOD = {
    "tuned profile": ["network-latency", "throughput-performance", "balanced"],
    "CPU governor": ["performance", "ondemand", "schedutil"],
    "CPU list": ["0", "0-3", "0,2,4-7"],
    "IRQ number": ["0", "40", "123456"],
    "NIC name": ["eth0", "ens5", "enp0s3", "bond0.100"],
}


ECHO_WRITE = re.compile(r"echo (?!'@@cilium-lab)")  # framed reads echo their markers; a write echoes a value


def scripts(embedded, since: int = 0) -> list[str]:
    """Every argv run in a host pod (the root shells: nsenter into the node) since entry `since` of the
    emulator's exec log, joined."""
    log = list(embedded.backend.exec_log)[since:]
    return [" ".join(argv) for namespace, _, _, argv in log if namespace == privileged.NAMESPACE]


def no_writes_nor(embedded, since: int, hostile: str) -> None:
    ran = scripts(embedded, since)
    assert ran, "the node was read through its host pod"
    assert not [s for s in ran if any(w in s for w in WRITES) or ECHO_WRITE.search(s)], ran
    assert not [s for s in ran if hostile.strip() and hostile.strip() in s], ran


@pytest.mark.parametrize("kind", sorted(GOOD))
def test_full_match_patterns_take_good_values_and_refuse_hostile_ones(kind):
    assert all(values.valid(kind, v) for v in GOOD[kind])
    for bad in [*HOSTILE, "", "0\n", " 0", None, 5]:
        assert not values.valid(kind, bad), bad
    with pytest.raises(ClusterError, match=r"^here: '\\n' is not a .*; nothing was sent to the node$"):
        values.check(kind, "\n", ClusterError, "here")


@pytest.mark.parametrize("profile", HOSTILE)
def test_a_hostile_profile_is_refused_before_any_shell(embedded, conn, profile):
    snap, since = snapshot.take(conn), len(embedded.backend.exec_log)
    with pytest.raises(InputError, match=r"^profile must be a tuned profile name") as err:
        host.plan_host(snap, profile=profile)
    assert "\n" not in str(err.value) and len(str(err.value)) < 200
    assert scripts(embedded, since) == []


@pytest.mark.parametrize("field", ["tuned", "irq_pattern"])
def test_a_hand_edited_plan_is_refused_before_any_shell(embedded, conn, tmp_path, field):
    plan = host.plan_host(snapshot.take(conn), nodes=["board-1"])
    edited = dataclasses.replace(plan.nodes["board-1"], **{field: "eth0; reboot"})
    plan = dataclasses.replace(plan, nodes={"board-1": edited})
    since = len(embedded.backend.exec_log)
    with pytest.raises(InputError, match=r"^the plan's .* for board-1: 'eth0; reboot' is not a") as err:
        host.apply_host(conn, plan, approved=True, results_dir=tmp_path, timeout=20)
    assert "\n" not in str(err.value)
    assert scripts(embedded, since) == [] and host_pods(conn) == []


@pytest.mark.parametrize("device", HOSTILE)
def test_a_hostile_nic_name_from_a_node_stops_the_plan(device):
    node = SimpleNamespace(name="n1", host={"tuned_profile": ""}, device=device, nic_driver="mlx5_core")
    with pytest.raises(ClusterError, match=r"^the NIC name the node reported: .* is not a NIC name") as err:
        host.node_plan(node, "network-latency")
    assert "\n" not in str(err.value)


# what the emulated node answers: its host state, set as a node with that state would report it
READ_BACK = {
    "tuned profile": lambda v: {"tuned_profile": v, "tuned_installed": "true"},
    "CPU governor": lambda v: {"governor.cpu0": v},
    "IRQ affinity": lambda v: {"irq.40": v},
}


@pytest.mark.parametrize("hostile", ["x;reboot", "$(reboot)", "`reboot`", "0\nreboot", "²", "a" * 300])
@pytest.mark.parametrize("setting", sorted(READ_BACK))
def test_a_hostile_value_read_back_from_a_node_never_reaches_its_shell(
    embedded, conn, tmp_path, setting, hostile
):
    if setting == "tuned profile" and "\n" in hostile:
        hostile = hostile.replace("\n", ";")  # tuned-adm prints the profile on one line
    embedded.backend.hosts.update("board-1", READ_BACK[setting](hostile))
    before = host_facts(conn)["board-1"]
    since = len(embedded.backend.exec_log)
    plan = host.plan_host(snapshot.take(conn), nodes=["board-1"], install_tuned=True)
    report = host.apply_host(conn, plan, approved=True, results_dir=tmp_path, timeout=20)
    node = report.nodes["board-1"]
    assert node.outcome == outcomes.FAILED and node.reason.startswith("nothing changed: "), report.to_text()
    assert "\n" not in node.reason and "nothing was sent to the node" in node.reason
    no_writes_nor(embedded, since, hostile)
    assert host_facts(conn)["board-1"] == before and host_pods(conn) == []


def test_a_hostile_value_on_a_node_stops_its_restore_before_any_write(embedded, conn, tmp_path):
    path = tune(conn, tmp_path)
    embedded.backend.hosts.update("board-1", {"irq.40": "0-3;reboot"})
    since = len(embedded.backend.exec_log)
    report = host_restore.restore_host(conn, path, approved=True, results_dir=tmp_path / "undo", timeout=20)
    board = report.nodes["board-1"]
    assert board.outcome == outcomes.FAILED and "'0-3;reboot' is not a CPU list" in board.reason
    assert report.nodes["vm-1"].outcome == host_restore.RESTORED
    assert not [s for s in scripts(embedded, since) if "reboot" in s]


def test_restore_commands_refuse_values_that_skipped_the_checks():
    clean = host_node.HostState(2, "balanced", ("ondemand", "ondemand"), "active", "enabled", {40: "0-1"})
    for bad in (
        dataclasses.replace(clean, irqs={40: "0;reboot"}),
        dataclasses.replace(clean, governors=("ondemand", "$(reboot)")),
        dataclasses.replace(clean, tuned="x\nreboot"),
    ):
        now = dataclasses.replace(
            clean, irqs={40: "1"}, governors=("performance",) * 2, tuned="network-latency"
        )
        with pytest.raises(ClusterError, match=r"nothing was sent to the node$"):
            host_node.restore_commands(bad, now)
    quoted = host_node.restore_commands(clean, dataclasses.replace(clean, irqs={40: "1"}))
    assert quoted == ["echo 0-1 > /proc/irq/40/smp_affinity_list"]


def _file(tmp_path: Path, saved: dict, node: str, **changes) -> Path:
    path = tmp_path / f"hostile-{len(list(tmp_path.glob('hostile-*')))}.json"
    path.write_text(json.dumps({node: {**saved[node], **changes}}))
    return path


@pytest.mark.parametrize("hostile", ["x\n", "x;reboot", "$(reboot)", "²", "a" * 300])
def test_a_hostile_restore_host_file_is_one_line_exit_2(embedded, conn, tmp_path, capsys, hostile):
    saved = json.loads(tune(conn, tmp_path).read_text())
    target = ["--cluster", "kube", "--kubeconfig", str(embedded.kubeconfig), "--approve"]
    cases = [
        _file(tmp_path, saved, "board-1", tuned=hostile),
        _file(tmp_path, saved, "board-1", governors=[hostile] * len(saved["board-1"]["governors"])),
        _file(tmp_path, saved, "board-1", irqbalance=hostile),
        _file(tmp_path, saved, "vm-1", irqs={hostile: "0"}),
        _file(tmp_path, saved, "vm-1", irqs={"40": hostile}),
    ]
    since = len(embedded.backend.exec_log)
    capsys.readouterr()
    for path in cases:
        assert main(["restore-host", str(path), *target]) == 2
        out, err = capsys.readouterr()
        assert out == "" and err.startswith(f"cilium-lab: error: {path} is not a host backup: node ")
        assert err.count("\n") == 1 and len(err) < 400, err
    assert scripts(embedded, since) == []


def test_an_irq_key_in_unicode_digits_is_one_line_exit_2_in_a_subprocess(tmp_path):
    record = {"cpus": 2, "tuned": "balanced", "governors": None, "irqbalance": "active",
              "irqbalance_enabled": "enabled", "irqs": {"²": "0"}}  # fmt: skip
    path = tmp_path / "host-unicode.json"
    path.write_text(json.dumps({"vm-1": record}))
    done = subprocess.run(
        [sys.executable, "-m", "cilium_lab.cli", "restore-host", str(path), "--approve"],
        capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert done.returncode == 2 and done.stdout == ""
    assert (
        done.stderr
        == f"cilium-lab: error: {path} is not a host backup: node 'vm-1': IRQ '²' is not an IRQ number\n"
    )


def test_unicode_digits_read_from_a_node_are_not_numbers():
    assert "²".isdigit() and not values.valid("IRQ number", "²") and not values.valid("CPU count", "٣")
