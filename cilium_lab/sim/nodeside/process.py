"""Run the real control plane program (`controlplane/bin/cilium-lab-controlplane`, `make controlplane`).

The program (Go, controlplane/main.go) runs etcd, kube-apiserver, kube-controller-manager and kube-scheduler of
the release pinned in controlplane/go.mod on 127.0.0.1; with `--kubelet-shell URL` and one `--kubelet NAME=IP`
per node it also serves each node's kubelet endpoint (exec, logs) on IP and forwards them to URL. It prints
`kubelet: NAME IP PORT` per node, `kubeconfig: PATH` and last `ready: URL kube-apiserver VERSION`; SIGTERM
stops it and it removes its working directory. The binary is $CILIUM_LAB_CONTROLPLANE, else the checkout's
controlplane/bin; where neither exists, `binary()` raises one line saying how to build it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from cilium_lab.errors import ClusterError, InputError

ENV = "CILIUM_LAB_CONTROLPLANE"
CHECKOUT_BINARY = Path(__file__).resolve().parents[3] / "controlplane" / "bin" / "cilium-lab-controlplane"
READY_TIMEOUT = 240.0  # seconds; a first start on a loaded 2-core machine takes tens of seconds
STOP_TIMEOUT = 60.0


def binary() -> Path:
    """The control plane program to run; InputError (one line, what to do) when there is none."""
    path = Path(os.environ[ENV]) if os.environ.get(ENV) else CHECKOUT_BINARY
    if path.is_file() and os.access(path, os.X_OK):
        return path
    raise InputError(
        f"no real control plane program at {path}: build it with `make controlplane` in a cilium-lab checkout"
        f" (needs Go), or set {ENV} to its path"
    )


def serves_kubelets(program: Path) -> bool:
    """Whether this build has the kubelet endpoints (`--kubelet-shell`); older builds have no exec or logs."""
    done = subprocess.run([str(program), "-h"], capture_output=True, text=True, timeout=60, check=False)
    return "kubelet-shell" in done.stdout + done.stderr


@dataclass(frozen=True)
class Kubelet:
    """One emulated node's kubelet endpoint (`kubelet: NAME IP PORT`): HTTPS with a serving certificate from
    the program's CA, answering the API server's exec, containerLogs and healthz calls."""

    node: str
    ip: str
    port: int


@dataclass(frozen=True)
class Ready:
    """What the program announces on stdout before it serves."""

    kubeconfig: str
    server: str
    version: str
    kubelets: dict[str, Kubelet]


def read_ready(stdout: IO[str], timeout: float = READY_TIMEOUT) -> Ready | None:
    """The `kubelet: NAME IP PORT` lines, `kubeconfig: PATH` and `ready: URL kube-apiserver VERSION` from the
    program's stdout, read in a thread of their own (a program that hangs cannot block the caller); None when
    `kubeconfig:` and `ready:` did not both come within `timeout` seconds."""
    lines: dict[str, str] = {}
    kubelets: dict[str, Kubelet] = {}
    done = threading.Event()

    def read() -> None:
        for line in stdout:
            key, _, value = line.strip().partition(": ")
            if key == "kubelet":
                node, ip, port = value.split()
                kubelets[node] = Kubelet(node, ip, int(port))
            lines[key] = value
            if key == "ready":
                break
        done.set()

    threading.Thread(target=read, name="controlplane-stdout", daemon=True).start()
    if not done.wait(timeout) or "ready" not in lines or "kubeconfig" not in lines:
        return None
    server, *_, version = lines["ready"].split()
    return Ready(lines["kubeconfig"], server, version, kubelets)


@dataclass
class ControlPlaneProcess:
    """One run of the program; `start()` returns when it printed `ready:`, `stop()` ends it."""

    shell_url: str = ""
    port: int = 0  # the API server's port on 127.0.0.1 (0: a free one)
    kubelet_ips: dict[str, str] = field(default_factory=dict)  # node name -> its kubelet's 127.0.0.x
    kubeconfig: str = ""
    server: str = ""
    version: str = ""
    kubelets: dict[str, Kubelet] = field(default_factory=dict)
    process: subprocess.Popen[str] | None = None
    _tmp: tempfile.TemporaryDirectory[str] | None = None

    @property
    def log_path(self) -> Path:
        if self._tmp is None:
            raise FileNotFoundError("the control plane has not started, or its folder is gone")
        return Path(self._tmp.name) / "controlplane.log"

    def start(self) -> ControlPlaneProcess:
        program = binary()
        self._tmp = tempfile.TemporaryDirectory(prefix="cilium-lab-controlplane-")
        argv = [str(program), f"--dir={self._tmp.name}/run", f"--ready-timeout={int(READY_TIMEOUT)}s"]
        argv.append(f"--port={self.port}")
        if self.shell_url and serves_kubelets(program):
            argv.append(f"--kubelet-shell={self.shell_url}")
            argv += [f"--kubelet={node}={ip}" for node, ip in self.kubelet_ips.items()]
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(
                argv, stdout=subprocess.PIPE, stderr=log, text=True, start_new_session=True
            )
        try:
            self._read_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _read_ready(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        ready = read_ready(self.process.stdout)
        if ready is None:
            raise ClusterError(f"the real control plane did not become ready:\n{self.log_tail()}")
        self.kubeconfig, self.server, self.version = ready.kubeconfig, ready.server, ready.version
        self.kubelets = ready.kubelets

    def returncode(self) -> int | None:
        """Its exit code once it ended, None while it runs (or before it started)."""
        return self.process.poll() if self.process is not None else None

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL to its process group after STOP_TIMEOUT; its exit code."""
        process = self.process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        if process is not None and process.stdout:
            process.stdout.close()
        if self._tmp is not None:
            self._tmp.cleanup()  # with its log, and what a killed program left of its working directory
            self._tmp = None
        return process.returncode if process is not None else None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"
