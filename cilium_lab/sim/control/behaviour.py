"""The control plane's two calls into the behaviour models: an agent start and a command in a pod.

`boot` starts the emulated Cilium agent (`sim.agent.startup.boot`) when an agent container starts;
`run` hands an exec to the emulated shell (`sim.shell.dispatch.run`). An exception inside the agent's
start is an emulator bug: the start fails with that message (the pod crash-loops) rather than
taking the controller loop down.
"""

from __future__ import annotations

import logging

from cilium_lab.sim.agent import startup
from cilium_lab.sim.agent.runtime import Boot, ExecContext, ExecResult
from cilium_lab.sim.shell import dispatch
from cilium_lab.sim.state.profiles import NodeProfile

log = logging.getLogger(__name__)


def boot(version: str, config: dict[str, str], node: NodeProfile) -> Boot:
    """The agent's start on `node` with this config and version; a failed start carries the fatal message."""
    try:
        return startup.boot(version, config, node)
    except Exception as err:  # an emulator bug must not stop the controllers
        log.exception("agent.boot failed on node %s", node.name)
        message = f"emulator bug in sim.agent.startup.boot: {err!r}"
        return Boot(ok=False, datapath=None, log=(f'level=fatal msg="{message}"',), error=message)


def run(ctx: ExecContext, argv: list[str], stdin: str = "") -> ExecResult:
    """Run `argv` in the pod of `ctx` with the emulated shell (`stdin`: what the caller sent, whole)."""
    return dispatch.run(ctx, argv, stdin)
