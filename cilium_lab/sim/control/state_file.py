"""Saving and restoring an embedded cluster's state to a JSON file (`--state FILE`).

`restore` at start when the file exists, `Saver.maybe_save` after every controller tick (writes only when the
store's revision moved or faults changed, at most every `interval` seconds) and `save` at stop. The file holds
the API objects, the revision counter, users and tokens, faults, the virtual clock, each node's host settings
(`state.host_settings`), and the config each running agent booted with, so agents come back with the datapath
they had. Writes are atomic (temp file, then rename).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from cilium_lab.errors import InputError
from cilium_lab.sim.control import behaviour
from cilium_lab.sim.control.backend import Backend, VirtualClock, image_version
from cilium_lab.sim.state.rbac import Users

FORMAT = 1


def snapshot(b: Backend) -> dict[str, Any]:
    with b.store.lock:
        return {
            "format": FORMAT,
            "profile": b.profile.name,
            "seed": b.seed,
            "store": b.store.dump(),
            "users": b.users.dump(),
            "faults": b.faults.dump(),
            "clock": b.clock.now(),
            "boot_configs": dict(b.boot_configs),
            "hosts": b.hosts.dump(),
        }


def save(b: Backend, path: str | Path) -> None:
    path = Path(path)
    data = json.dumps(snapshot(b), indent=1, sort_keys=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or ".")
    with os.fdopen(fd, "w") as f:
        f.write(data)
    os.replace(tmp, path)


def restore(b: Backend, path: str | Path) -> bool:
    """Load `path` into an empty backend; False when there is nothing to restore."""
    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        return False
    try:
        data = json.loads(path.read_text())
    except ValueError as err:
        raise InputError(f"state file {path} is not JSON ({err}): move it away and start again") from err
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InputError(
            f"state file {path} is not a cilium-lab cluster state of format {FORMAT}: start with a new --state file"
        )
    if data.get("profile") != b.profile.name:
        raise InputError(
            f"state file {path} belongs to profile {data.get('profile')!r}, not {b.profile.name!r}: "
            f"pass --profile {data.get('profile')}"
        )
    try:
        b.store.load(data["store"])
        b.users = Users.load(data["users"])
        b.faults.load(data["faults"])
        b.clock = VirtualClock(float(data["clock"]))
        b.hosts.load(data.get("hosts", {}))  # absent in files written before host changes existed
    except (KeyError, TypeError, ValueError) as err:
        raise InputError(
            f"state file {path} is not a cilium-lab cluster state ({err!r}): move it away and start again"
        ) from err
    _reboot_agents(b, data.get("boot_configs", {}))
    return True


def _reboot_agents(b: Backend, configs: dict[str, dict[str, str]]) -> None:
    """Agents that were running get their boot back from the config they started with."""
    for pod in b.store.list("pods"):
        uid = pod["metadata"]["uid"]
        if uid not in configs:
            continue
        image = next(c["image"] for c in pod["spec"]["containers"] if c["name"] == "cilium-agent")
        b.boots[uid] = behaviour.boot(image_version(image), configs[uid], b.nodes[pod["spec"]["nodeName"]])
        b.boot_configs[uid] = configs[uid]


class Saver:
    """Debounced saving after controller ticks."""

    def __init__(self, b: Backend, path: str | Path, interval: float = 0.25) -> None:
        self.b, self.path, self.interval = b, Path(path), interval
        self._saved: tuple[int, str] | None = None
        self._last = 0.0

    def _fingerprint(self) -> tuple[int, str]:
        faults = json.dumps(self.b.faults.dump(), sort_keys=True)
        return self.b.store.revision, f"{faults} {self.b.clock.now()} hosts@{self.b.hosts.revision}"

    def maybe_save(self) -> None:
        now = time.monotonic()
        if now - self._last < self.interval or self._fingerprint() == self._saved:
            return
        self.save()

    def save(self) -> None:
        self._saved = self._fingerprint()
        self._last = time.monotonic()
        save(self.b, self.path)
