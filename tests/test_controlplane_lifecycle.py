"""The real control plane (`tests/controlplane.py`): its kubeconfig's users are who they say, it listens on
127.0.0.1 only, its controller manager runs, and it stops cleanly on SIGINT as on SIGTERM (the session
fixture's teardown checks SIGTERM: exit 0, working directory removed), also with kubelet endpoints serving
and an exec in flight."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
import yaml
from kubernetes import client as k8s
from kubernetes.stream import stream
from test_controlplane_kubelet import CONTAINER, NODE, NODE_IP, POD, node_with_pods, serve_shell
from waiting import wait_for
from websocket import WebSocketConnectionClosedException

from cilium_lab.cluster.connect import connect
from controlplane import ControlPlane, start

pytestmark = [pytest.mark.controlplane, pytest.mark.xdist_group("controlplane")]


def _children(pid: int) -> set[int]:
    """The child processes of `pid` (forked by any of its threads)."""
    return {
        int(c)
        for task in Path(f"/proc/{pid}/task").iterdir()
        for c in (task / "children").read_text().split()
    }


def _listening_anywhere() -> set[str]:
    """host:port of every listening TCP socket on the machine."""
    return {
        _address(line.split()[1])
        for table in ("/proc/net/tcp", "/proc/net/tcp6")
        for line in Path(table).read_text().splitlines()[1:]
        if line.split()[3] == "0A"
    }


def _listening(pid: int) -> set[str]:
    """host:port of every TCP socket a process and its children listen on (from /proc)."""
    pids = {pid} | _children(pid)
    inodes = set()
    for p in pids:
        for fd in Path(f"/proc/{p}/fd").iterdir():
            target = str(fd.readlink()) if fd.is_symlink() else ""
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    out = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                out.add(_address(fields[1]))
    return out


def _address(hex_address: str) -> str:
    host, port = hex_address.split(":")
    raw = bytes.fromhex(host)
    if len(raw) == 4:
        text = ".".join(str(b) for b in reversed(raw))
    else:  # IPv6, as four little-endian 32-bit words
        words = [raw[i : i + 4][::-1] for i in range(0, 16, 4)]
        text = ":".join(b"".join(words)[i : i + 2].hex() for i in range(0, 16, 2))
    return f"{text}:{int(port, 16)}"


def test_listens_on_loopback_only(controlplane: ControlPlane):
    addresses = _listening(controlplane.process.pid)
    port = controlplane.server.rsplit(":", 1)[1]
    assert f"127.0.0.1:{port}" in addresses  # the API server
    # etcd client and peer, the controller manager's and the scheduler's secure ports
    assert len(addresses) >= 5
    assert all(a.startswith("127.0.0.1:") for a in addresses), addresses


def test_users_and_version(controlplane: ControlPlane):
    assert controlplane.version == "v1.32.13"  # controlplane/go.mod
    contexts = {c["name"] for c in yaml.safe_load(Path(controlplane.kubeconfig).read_text())["contexts"]}
    assert contexts == {"admin", "inspector", "operator", "host-operator", "readonly"}
    for context, user, group in (
        ("admin", "cilium-lab-admin", "system:masters"),
        ("inspector", "inspector", "cilium-lab-inspectors"),
        ("operator", "operator", "cilium-lab-operators"),
        ("host-operator", "host-operator", "cilium-lab-host-operators"),
        ("readonly", "readonly", "system:authenticated"),
    ):
        api = k8s.AuthenticationV1Api(connect(controlplane.kubeconfig, context=context).api_client)
        review = api.create_self_subject_review({"apiVersion": "authentication.k8s.io/v1"})
        assert review.status.user_info.username == user
        assert group in review.status.user_info.groups


def test_controller_manager_runs(controlplane: ControlPlane):
    """Its controllers act: a new namespace gets its default ServiceAccount and the root CA ConfigMap."""
    conn = connect(controlplane.kubeconfig, context="admin")
    conn.core.create_namespace({"metadata": {"name": "lifecycle-check"}})
    try:
        wait_for(lambda: conn.core.list_namespaced_service_account("lifecycle-check").items, timeout=60)
        wait_for(lambda: conn.core.list_namespaced_config_map("lifecycle-check").items, timeout=60)
        names = {c.metadata.name for c in conn.core.list_namespaced_config_map("lifecycle-check").items}
        assert "kube-root-ca.crt" in names
    finally:
        conn.core.delete_namespace("lifecycle-check")


def test_stops_on_sigint(tmp_path: Path):
    with start(tmp_path, sig=signal.SIGINT) as plane:
        child = _children(plane.process.pid)
        assert len(child) == 2  # the controller manager and the scheduler
    # start() has checked exit 0 and the working directory gone; the children were stopped and reaped
    assert not any(Path(f"/proc/{c}").exists() for c in child)


def test_stops_with_kubelets_and_an_exec_in_flight(tmp_path: Path):
    """SIGTERM with kubelet endpoints serving and an exec waiting on the shell: exit 0 (start() checks it
    and the working directory gone), every listener closed, both children gone, the exec ended."""
    kubelets = {NODE: NODE_IP, "emulated-b": "127.0.0.3"}
    with serve_shell() as (shell, shell_url):
        with start(tmp_path, kubelets=kubelets, shell_url=shell_url) as plane:
            children = _children(plane.process.pid)
            assert len(children) == 2  # the controller manager and the scheduler
            addresses = _listening(plane.process.pid)
            endpoints = {f"{k.ip}:{k.port}" for k in plane.kubelets.values()}
            assert endpoints == {
                f"{NODE_IP}:{plane.kubelets[NODE].port}",
                f"127.0.0.3:{plane.kubelets['emulated-b'].port}",
            }
            assert endpoints <= addresses
            with node_with_pods(plane, pods=(POD,)) as admin:
                exec_stream = stream(
                    admin.core.connect_get_namespaced_pod_exec,
                    POD,
                    "default",
                    container=CONTAINER,
                    command=["block"],
                    stdout=True,
                    stderr=True,
                    _preload_content=False,
                )
                assert shell.blocked.wait(60), "the exec did not reach the shell"
                stopped_at = time.monotonic()
        stop_seconds = time.monotonic() - stopped_at
    # the stream ended with the control plane (the shell never answered the command)
    try:
        exec_stream.run_forever(timeout=30)
        ended = not exec_stream.is_open()  # closed by the server
    except WebSocketConnectionClosedException:
        ended = True  # the connection dropped with the process
    assert ended
    assert stop_seconds < 30, stop_seconds
    assert not (addresses & _listening_anywhere())
    assert not any(Path(f"/proc/{c}").exists() for c in children)
