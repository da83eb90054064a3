"""A real Kubernetes control plane for tests: controlplane/bin/cilium-lab-controlplane (`make controlplane`)
runs etcd, kube-apiserver, kube-controller-manager and kube-scheduler of the release pinned in
controlplane/go.mod on 127.0.0.1; it registers no nodes (`node_object` is one a test can register).
`start()` runs it, waits for its ready line and /readyz, and stops it with SIGTERM; tests that need it skip, saying why, where the binary is not built (no Go on the machine).

The kubeconfig's contexts: admin (system:masters, a client certificate) and, by static token, the users
of deploy/rbac.yaml's groups: inspector (cilium-lab-inspectors), operator (cilium-lab-operators),
host-operator (cilium-lab-host-operators) and readonly (no group), as controlplane/users.go writes them.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import kubernetes.client as k8s
import kubernetes.config as k8s_config
import pytest

from cilium_lab.sim.nodeside import process as program

ROOT = Path(__file__).resolve().parent.parent
BINARY = Path(os.environ.get("CILIUM_LAB_CONTROLPLANE", ROOT / "controlplane/bin/cilium-lab-controlplane"))
READY_TIMEOUT = 240.0  # seconds; the first start on a loaded 2-core machine takes tens of seconds
STOP_TIMEOUT = 60.0


KubeletEndpoint = program.Kubelet  # one emulated node's kubelet endpoint, as the program announces it


@dataclass(frozen=True)
class ControlPlane:
    kubeconfig: str
    server: str
    version: str  # kube-apiserver's gitVersion, e.g. v1.32.13
    process: subprocess.Popen[str]
    workdir: Path  # the binary's working directory (certificates, etcd data), removed when it stops
    kubelets: dict[str, KubeletEndpoint] = field(default_factory=dict)  # by node name, from --kubelet


def node_object(name: str, ip: str = "127.0.0.1", kubelet_port: int = 10250) -> dict:
    """A Node as a kubelet registers it, Ready and schedulable, whose kubelet is at ip:kubelet_port (the
    API server reaches it by its InternalIP); `status` must go through the status subresource."""
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    resources = {"cpu": "4", "memory": "8Gi", "pods": "110"}
    return {
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux"}},
        "status": {
            "addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": kubelet_port}},
            "capacity": resources,
            "allocatable": resources,
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "KubeletReady",
                    "message": "kubelet is posting ready status",
                    "lastHeartbeatTime": now,
                    "lastTransitionTime": now,
                }
            ],
        },
    }


def _shown(path: Path) -> Path:
    """The binary as a person would name it: relative to the checkout when inside it ($CILIUM_LAB_CONTROLPLANE
    may point anywhere)."""
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def skip_reason() -> str | None:
    """Why a real control plane cannot run here, or None."""
    if BINARY.is_file() and os.access(BINARY, os.X_OK):
        return None
    if shutil.which("go") is None:
        return f"no Go toolchain, so no real control plane ({_shown(BINARY)} is not built)"
    return f"{BINARY} is not built: run `make controlplane`"


@contextmanager
def start(
    base: Path,
    sig: int = signal.SIGTERM,
    kubelets: Mapping[str, str] | None = None,
    shell_url: str | None = None,
) -> Iterator[ControlPlane]:
    """Run the control plane with its working directory under `base` until the block ends, then stop it
    with `sig`; raises if it does not come up, or does not stop cleanly (exit 0, directory removed).
    `kubelets` maps node names to their 127.0.0.x addresses: each gets a kubelet endpoint that hands exec
    and logs to the shell at `shell_url` (s17-interface: POST /exec, GET /logs)."""
    if reason := skip_reason():
        pytest.skip(reason)
    workdir = base / "controlplane"
    log_path = base / "controlplane.log"
    args = [str(BINARY), f"--dir={workdir}", f"--ready-timeout={int(READY_TIMEOUT)}s"]
    if shell_url is not None:
        args.append(f"--kubelet-shell={shell_url}")
    args += [f"--kubelet={name}={ip}" for name, ip in (kubelets or {}).items()]
    with log_path.open("w") as log:
        process = subprocess.Popen(
            args,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            start_new_session=True,  # its own process group: the controller manager child goes with it
        )
    try:
        assert process.stdout is not None
        ready = program.read_ready(process.stdout, READY_TIMEOUT)
        if ready is None:
            _stop(process, signal.SIGTERM, log_path)
            raise AssertionError(f"the control plane did not become ready:\n{_tail(log_path)}")
        if set(ready.kubelets) != set(kubelets or {}):
            raise AssertionError(f"kubelet lines {ready.kubelets} do not match --kubelet {kubelets}")
        plane = ControlPlane(
            kubeconfig=ready.kubeconfig,
            server=ready.server,
            version=ready.version,
            process=process,
            workdir=workdir,
            kubelets=ready.kubelets,
        )
        _wait_readyz(plane.kubeconfig)
        yield plane
    finally:
        _stop(process, sig, log_path)
    if process.returncode != 0:
        raise AssertionError(f"the control plane exited {process.returncode}:\n{_tail(log_path)}")
    if workdir.exists():
        raise AssertionError(f"the control plane left its working directory {workdir} behind")


def _wait_readyz(kubeconfig: str) -> None:
    """GET /readyz as admin until it answers 200 (it did once before the ready line; this checks the
    kubeconfig the tests will use)."""
    client = k8s_config.new_client_from_config(config_file=kubeconfig, context="admin")
    url = client.configuration.host + "/readyz"
    deadline = time.monotonic() + 30
    with client:
        while True:
            try:
                status = client.rest_client.request("GET", url, _request_timeout=5).status
            except k8s.ApiException as err:
                status = err.status
            if status == 200:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"/readyz answers {status}")
            time.sleep(0.25)


def _stop(process: subprocess.Popen[str], sig: int, log_path: Path) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            message = f"the control plane ignored {sig!r} for {STOP_TIMEOUT:g}s:\n{_tail(log_path)}"
            raise AssertionError(message) from None
    if process.stdout:
        process.stdout.close()


def _tail(log_path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log_path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
