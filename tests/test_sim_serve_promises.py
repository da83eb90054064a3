"""`cilium-lab sim serve` in its own process, against two promises of its help and the README: it listens
on 127.0.0.1 only, and `--state` is saved on change (not only at a clean exit), so a server killed with
SIGKILL comes back with what was written before."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from kubernetes import client, config
from test_sim_api_cli import CLI


def _serve(kubeconfig: Path, state: Path) -> subprocess.Popen[str]:
    command = [*CLI, "sim", "serve", "--kubeconfig", str(kubeconfig), "--state", str(state)]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = server.stdout.readline()
    assert "https://127.0.0.1:" in line, (line, server.poll())
    return server


def _core(kubeconfig: Path) -> client.CoreV1Api:
    return client.CoreV1Api(config.new_client_from_config(config_file=str(kubeconfig), context="admin"))


def _listening(port: int) -> list[str]:
    """The local addresses of the TCP sockets listening on `port` (Linux /proc/net/tcp and tcp6)."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for row in Path(table).read_text().splitlines()[1:]:
            local, state = row.split()[1], row.split()[3]
            address, hex_port = local.rsplit(":", 1)
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.append(address)
    return found


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads the socket table from /proc/net/tcp")
def test_serve_listens_on_the_loopback_only_until_ctrl_c(tmp_path):
    kubeconfig = tmp_path / "kubeconfig"
    server = _serve(kubeconfig, tmp_path / "state.json")
    try:
        url = yaml.safe_load(kubeconfig.read_text())["clusters"][0]["cluster"]["server"]
        port = int(url.rsplit(":", 1)[1])
        assert _listening(port) == ["0100007F"]  # 127.0.0.1, and no wildcard or IPv6 socket beside it
    finally:
        server.send_signal(signal.SIGINT)  # "until Ctrl-C": it stops cleanly and saves its state
        assert server.wait(timeout=20) == 0
    assert json.loads((tmp_path / "state.json").read_text())["store"]["objects"]
    assert _listening(port) == []


def test_a_server_killed_with_sigkill_comes_back_with_what_was_written(tmp_path):
    state = tmp_path / "state.json"
    first = _serve(tmp_path / "first.kubeconfig", state)
    try:
        _core(tmp_path / "first.kubeconfig").patch_namespaced_config_map(
            "cilium-config", "kube-system", {"data": {"written-before-the-kill": "1"}}
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # saved on change: the file has it while the server runs
            if state.exists() and "written-before-the-kill" in state.read_text():
                break
            time.sleep(0.1)
        else:
            pytest.fail("the state file never held the change while the server ran")
        json.loads(state.read_text())  # whole, not torn
    finally:
        first.send_signal(signal.SIGKILL)  # no exit handler runs
        assert first.wait(timeout=20) == -signal.SIGKILL
    second = _serve(tmp_path / "second.kubeconfig", state)
    try:
        data = (
            _core(tmp_path / "second.kubeconfig")
            .read_namespaced_config_map("cilium-config", "kube-system")
            .data
        )
        assert data["written-before-the-kill"] == "1"
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=20) == 0
