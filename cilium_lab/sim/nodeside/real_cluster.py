"""Emulated nodes on a real control plane: `RealControlPlaneCluster` starts and stops the whole of it.

Start order (the contract with controlplane/): the node shell on 127.0.0.1 (`shell_server`), then the control
plane program with that shell's URL and one kubelet address per node (`process`), then, once it is ready, the
profile's Cilium install (`install`), the nodes (`nodes.register`) and a thread that keeps them: heartbeats
(`nodes.Heartbeat`) and the mirror with its kubelet ticks (`mirror`). From there the real DaemonSet controller
and scheduler create and bind the agents' pods and the emulated kubelets run them. `stop()` ends the thread,
then the control plane (SIGTERM; it removes its working directory), then the shell. The kubeconfig is the
control plane's (contexts admin, inspector, operator, host-operator, readonly), copied, readable by its owner
only, to `kubeconfig` when one is asked for. If the control plane ends on its own, the loop stops, says why
in `exited` and calls `on_exit`. `faults` are the emulator's node faults (crash loops, NotReady nodes, stuck
rollouts, host write errors); its API faults do not apply, the API server is the real one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from cilium_lab.sim.cluster import write_private
from cilium_lab.sim.control.backend import Backend, Timing
from cilium_lab.sim.control.faults import Faults
from cilium_lab.sim.nodeside import install, mirror, nodes, process
from cilium_lab.sim.nodeside.rest import Rest
from cilium_lab.sim.nodeside.shell_server import ShellServer
from cilium_lab.sim.state import profiles

log = logging.getLogger(__name__)


class RealControlPlaneCluster:
    def __init__(
        self,
        profile: str = "seed-mixed",
        seed: int = 0,
        port: int = 0,
        kubeconfig: str | None = None,
        overwrite: bool = False,
        timing: Timing | None = None,
        on_exit: Callable[[], None] = lambda: None,
    ) -> None:
        self.profile = nodes.loopback_profile(profiles.load(profile))
        self.backend = Backend(self.profile, seed=seed, timing=timing)
        self.port = port
        self._kubeconfig_path = kubeconfig
        self._overwrite = overwrite
        self.shell = ShellServer(self.backend)
        self.process = process.ControlPlaneProcess()
        self.api: Rest | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.kubeconfig = ""
        self.errors: list[BaseException] = []  # what the node side's loop met (logged; kept for tests)
        self.exited = ""  # why the control plane ended while serving (then `on_exit` was called)
        self._on_exit = on_exit

    @property
    def faults(self) -> Faults:
        return self.backend.faults

    @property
    def url(self) -> str:
        return self.process.server

    @property
    def version(self) -> str:
        return self.process.version

    @property
    def serves_exec(self) -> bool:
        """Whether the control plane forwards exec and logs to the nodes (its build has kubelet endpoints)."""
        return bool(self.process.kubelets)

    def start(self) -> RealControlPlaneCluster:
        process.binary()  # one clear line, before anything starts, where there is none
        try:
            self.shell.start()
            ips = {n.name: n.internal_ip for n in self.profile.nodes}
            self.process = process.ControlPlaneProcess(
                shell_url=self.shell.url, kubelet_ips=ips, port=self.port
            )
            self.process.start()
            self.kubeconfig = self._place_kubeconfig()
            self.api = Rest(self.process.kubeconfig)
            install.install(self.api, self.profile)
            nodes.register(self.api, self.profile, {k.node: k.port for k in self.process.kubelets.values()})
            self._thread = threading.Thread(target=self._run, name="node-side", daemon=True)
            self._thread.start()
        except BaseException:
            self.stop()
            raise
        return self

    def _place_kubeconfig(self) -> str:
        if not self._kubeconfig_path:
            return self.process.kubeconfig
        write_private(Path(self._kubeconfig_path), Path(self.process.kubeconfig).read_text(), self._overwrite)
        return self._kubeconfig_path

    def _run(self) -> None:
        assert self.api is not None
        heartbeat = nodes.Heartbeat(self.api, self.profile, self.faults)
        synced = mirror.Mirror(self.api, self.backend)
        while not self._stop.is_set():
            if (code := self.process.returncode()) is not None:
                self.exited = f"the real control plane exited with code {code} while serving"
                log.error("%s:\n%s", self.exited, self.process.log_tail())
                self._on_exit()
                return
            try:
                heartbeat.beat()
                synced.sync()
            except Exception as err:  # the API server may answer late under load: try again next period
                log.warning("node side: %s", err)
                self.errors.append(err)
                del self.errors[:-20]
            self._stop.wait(mirror.PERIOD)

    def stop(self) -> int | None:
        """Stop everything that started; the control plane's exit code (None if it never started)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        if self.api is not None:
            self.api.close()
        code = self.process.stop()
        self.shell.stop()
        return code

    def __enter__(self) -> RealControlPlaneCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
