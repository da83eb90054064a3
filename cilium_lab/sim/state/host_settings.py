"""Each emulated node's mutable host settings: tuned, CPU governor, irqbalance, NIC IRQ affinity.

Start from the profile's `NodeProfile.host`; the host commands write them (reached only through `nsenter` from
a privileged hostPID pod, or from the host's own shell) and every exec reads them: the backend hands every
exec and every resolved endpoint a NodeProfile whose `host` is the current one (`dataclasses.replace`), so
file reads, `tuned-adm active`, `systemctl is-active` and the performance model all see the change. Saved in
the `--state` file.

Keys beside the profile's: `governor.cpuN` per CPU (the node's `governor` is then their common value,
or "mixed"), `irq.N` a pinned IRQ's CPU list, `irqbalance_enabled`, `tuned_installed`.
Simplification: a node has one state; nothing reverts on reboot (the emulator has no reboot).
"""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any

from cilium_lab.errors import InputError
from cilium_lab.sim.state.profiles import NodeProfile

GOVERNOR_KEY = "governor.cpu{}"


class HostWriteError(OSError):
    """A host setting could not be changed (an injected fault): the tool reports EIO."""


class HostStates:
    """Per node host settings, seeded from the profile; thread-safe; `revision` moves on every change."""

    def __init__(self, nodes: dict[str, NodeProfile]) -> None:
        self._lock = threading.Lock()
        self._nodes = nodes
        self._state = {name: _initial(node) for name, node in nodes.items()}
        self.revision = 0

    def current(self, name: str) -> dict[str, str]:
        with self._lock:
            return dict(self._state[name])

    def node(self, name: str) -> NodeProfile:
        """The node's profile with its current host settings."""
        return replace(self._nodes[name], host=self.current(name))

    def update(self, name: str, changes: dict[str, str]) -> NodeProfile:
        """Apply `changes` ('' deletes a key) and return the node with its new host settings."""
        with self._lock:
            state = self._state[name]
            for key, value in changes.items():
                if value == "":
                    state.pop(key, None)
                else:
                    state[key] = str(value)
            _derive_governor(state, self._nodes[name].cpus)
            self.revision += 1
        return self.node(name)

    def dump(self) -> dict[str, dict[str, str]]:
        with self._lock:
            return {name: dict(state) for name, state in self._state.items()}

    def load(self, data: dict[str, Any]) -> None:
        unknown = set(data) - set(self._nodes)
        if unknown or not all(isinstance(v, dict) for v in data.values()):
            raise InputError(
                f"host settings in the state file name unknown nodes {sorted(unknown)} or are malformed: "
                "start with a new --state file"
            )
        with self._lock:
            for name, state in data.items():
                self._state[name] = {str(k): str(v) for k, v in state.items()}
            self.revision += 1


def _initial(node: NodeProfile) -> dict[str, str]:
    state = dict(node.host)
    if state.get("cpufreq") == "true":
        governor = state.get("governor", "ondemand")
        state.update({GOVERNOR_KEY.format(cpu): governor for cpu in range(node.cpus)})
        state["governor"] = governor
    state.setdefault("irqbalance_enabled", "enabled" if state.get("irqbalance") == "active" else "disabled")
    state.setdefault("tuned_installed", "true" if state.get("tuned_profile", "none") != "none" else "false")
    return state


def _derive_governor(state: dict[str, str], cpus: int) -> None:
    governors = {state.get(GOVERNOR_KEY.format(cpu)) for cpu in range(cpus)} - {None}
    if governors:
        state["governor"] = governors.pop() if len(governors) == 1 else "mixed"
