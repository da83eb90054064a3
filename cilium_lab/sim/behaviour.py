"""The API side's two calls into the behaviour models, imported lazily by module name.

`controllers` calls `boot` when an agent container starts; `exec_ws` calls `run` for every exec.
They go to `sim.agent.boot` and `sim.shell.run`. The lazy import keeps the API surface usable while
a behaviour module is missing: without `sim.agent` every agent start fails with a fatal log line
saying so (the pod crash-loops), without `sim.shell` every command is "not found" (exit 127), as an
empty shell would answer. An exception inside a behaviour module is an emulator bug: the agent
start fails with that message rather than taking the controller down.
"""

from __future__ import annotations

import importlib
import logging
from types import ModuleType

from cilium_lab.sim.profiles import NodeProfile
from cilium_lab.sim.runtime import Boot, ExecContext, ExecResult

log = logging.getLogger(__name__)


def _module(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as err:
        if err.name != name:
            raise
        return None


def boot(version: str, config: dict[str, str], node: NodeProfile) -> Boot:
    agent = _module("cilium_lab.sim.agent")
    if agent is None:
        message = "agent emulation is not installed (cilium_lab.sim.agent is missing)"
        return Boot(ok=False, datapath=None, log=(f'level=fatal msg="{message}"',), error=message)
    try:
        return agent.boot(version, config, node)
    except Exception as err:  # an emulator bug must not stop the controllers
        log.exception("agent.boot failed on node %s", node.name)
        message = f"emulator bug in sim.agent.boot: {err!r}"
        return Boot(ok=False, datapath=None, log=(f'level=fatal msg="{message}"',), error=message)


def run(ctx: ExecContext, argv: list[str]) -> ExecResult:
    shell = _module("cilium_lab.sim.shell")
    if shell is None:
        name = argv[0] if argv else ""
        return ExecResult(stderr=f"sh: 1: {name}: not found\n", code=127)
    return shell.run(ctx, argv)
