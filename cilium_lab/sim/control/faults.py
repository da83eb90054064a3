"""Faults a test (or a demo) can switch on in the embedded cluster.

Set through `EmbeddedCluster.faults` in-process, or out of process through the admin endpoint
(`GET/PUT /_sim/faults`, admin token) or the state file; read by the server's middleware (API
errors and delays) and by the controllers (agent crash loops, stuck rollouts, NotReady nodes).

- `api_error(verb, resource, code)`: the API answers 403/500/... for that verb and resource
  (optionally only for one user, only `times` times, only after `after` matching calls went through:
  "the Nth patch fails"); `forbid(...)` is the 403 shorthand.
- `api_delay(verb, resource, seconds)`: the API answers late (a client timeout then fires).
- `crash_loop(*nodes)`: agent pods on those nodes crash-loop whatever the config.
- `stuck_rollout()`: newly created agent pods stay Pending, so a rollout never finishes.
- `node_not_ready(*nodes)`: the node's Ready condition turns False and its pods become unready.
- `host_write_error(node, setting)`: on that node, changing a host setting whose key starts with
  `setting` ("governor", "irq.", "irqbalance", "tuned") fails with EIO (optionally `times` times);
  checked by `backend` when a host command writes (`state.host_settings`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from cilium_lab.errors import InputError

VERBS = ("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection", "*")


@dataclass
class ApiFault:
    verb: str
    resource: str  # "configmaps", "daemonsets", "pods/exec" or "*"
    code: int = 500  # 0 for a pure delay
    delay: float = 0.0
    user: str | None = None
    times: int | None = None  # None: always
    after: int = 0  # matching calls that go through before this fault starts

    def matches(self, verb: str, resource: str, user: str) -> bool:
        return (
            self.verb in ("*", verb)
            and self.resource in ("*", resource)
            and (self.user is None or self.user == user)
            and (self.times is None or self.times > 0)
        )


@dataclass
class HostFault:
    node: str
    setting: str = ""  # a prefix of the host-settings key; "" matches every change
    times: int | None = None


@dataclass
class FaultState:
    api: list[ApiFault] = field(default_factory=list)
    crash_loop_nodes: list[str] = field(default_factory=list)
    stuck_rollout: bool = False
    not_ready_nodes: list[str] = field(default_factory=list)
    host: list[HostFault] = field(default_factory=list)


class Faults:
    """Thread-safe fault switches; `on_change` is called after every change (the controllers wake up)."""

    def __init__(self, on_change: Callable[[], None] = lambda: None) -> None:
        self._lock = threading.Lock()
        self.state = FaultState()
        self.on_change = on_change

    def _changed(self) -> None:
        self.on_change()

    def api_error(
        self,
        verb: str,
        resource: str,
        code: int = 500,
        *,
        user: str | None = None,
        times: int | None = None,
        after: int = 0,
    ) -> None:
        if verb not in VERBS:
            raise InputError(f"unknown verb {verb!r} for an API fault: use one of {', '.join(VERBS)}")
        if code not in (400, 401, 403, 404, 409, 422, 429, 500, 503, 504):
            raise InputError(
                f"API fault code {code} is not an error a Kubernetes API server sends: use 403, 500, 503, ..."
            )
        with self._lock:
            self.state.api.append(ApiFault(verb, resource, code, 0.0, user, times, after))
        self._changed()

    def forbid(self, verb: str, resource: str, *, user: str | None = None, times: int | None = None) -> None:
        self.api_error(verb, resource, 403, user=user, times=times)

    def api_delay(
        self, verb: str, resource: str, seconds: float, *, user: str | None = None, times: int | None = None
    ) -> None:
        if seconds < 0:
            raise InputError(f"API delay must be >= 0 seconds, got {seconds}")
        with self._lock:
            self.state.api.append(ApiFault(verb, resource, 0, seconds, user, times))
        self._changed()

    def crash_loop(self, *nodes: str) -> None:
        with self._lock:
            self.state.crash_loop_nodes = sorted({*self.state.crash_loop_nodes, *nodes})
        self._changed()

    def stuck_rollout(self, stuck: bool = True) -> None:
        with self._lock:
            self.state.stuck_rollout = stuck
        self._changed()

    def node_not_ready(self, *nodes: str) -> None:
        with self._lock:
            self.state.not_ready_nodes = sorted({*self.state.not_ready_nodes, *nodes})
        self._changed()

    def host_write_error(self, node: str, setting: str = "", *, times: int | None = None) -> None:
        with self._lock:
            self.state.host.append(HostFault(node, setting, times))
        self._changed()

    def take_host(self, node: str, keys: list[str]) -> bool:
        """Whether this change of host settings on `node` fails; counts down `times`."""
        with self._lock:
            for fault in self.state.host:
                hit = fault.node == node and any(k.startswith(fault.setting) for k in keys)
                if hit and (fault.times is None or fault.times > 0):
                    if fault.times is not None:
                        fault.times -= 1
                    return True
        return False

    def clear(self) -> None:
        with self._lock:
            self.state = FaultState()
        self._changed()

    def take_api(self, verb: str, resource: str, user: str) -> tuple[float, int]:
        """The (delay seconds, error code or 0) for one request; counts down `times`."""
        delay, code = 0.0, 0
        with self._lock:
            for fault in self.state.api:
                if not fault.matches(verb, resource, user):
                    continue
                if fault.after > 0:
                    fault.after -= 1
                    continue
                if fault.times is not None:
                    fault.times -= 1
                delay += fault.delay
                code = code or fault.code
        return delay, code

    def crash_looping(self, node: str) -> bool:
        with self._lock:
            return node in self.state.crash_loop_nodes

    def rollout_stuck(self) -> bool:
        with self._lock:
            return self.state.stuck_rollout

    def not_ready(self, node: str) -> bool:
        with self._lock:
            return node in self.state.not_ready_nodes

    def dump(self) -> dict[str, Any]:
        with self._lock:
            return asdict(self.state)

    def load(self, data: dict[str, Any]) -> None:
        try:
            state = FaultState(
                api=[ApiFault(**f) for f in data.get("api", [])],
                crash_loop_nodes=list(data.get("crash_loop_nodes", [])),
                stuck_rollout=bool(data.get("stuck_rollout", False)),
                not_ready_nodes=list(data.get("not_ready_nodes", [])),
                host=[HostFault(**f) for f in data.get("host", [])],
            )
        except TypeError as err:
            raise InputError(
                f"malformed faults document ({err}): expected keys api, crash_loop_nodes, stuck_rollout, not_ready_nodes, host"
            ) from err
        with self._lock:
            self.state = state
        self._changed()
