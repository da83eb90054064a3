"""Builds ExecContexts for the shell tests (agent pods, benchmark pods) on profile nodes; holds no tests."""

from __future__ import annotations

import random

from cilium_lab.sim.agent import startup
from cilium_lab.sim.agent.runtime import ExecContext
from cilium_lab.sim.state import profiles

SEED = profiles.load("seed-mixed")
AGENT_IMAGE = "quay.io/cilium/cilium:v{version}"
BENCH_IMAGE = "quay.io/cilium/network-perf:3.21-1782913202-88c270c"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def advance(self, seconds: float) -> None:
        self.now += seconds


def context(
    node=SEED.nodes[0],
    version: str = SEED.cilium_version,
    config: dict[str, str] | None = None,
    *,
    bench: bool = False,
    image: str | None = None,
    clock: Clock | None = None,
) -> ExecContext:
    config = {**SEED.cilium_config, **(config or {})}
    boot = startup.boot(version, config, node)
    ref = image or (BENCH_IMAGE if bench else AGENT_IMAGE.format(version=version))
    name = "perf-client-5d8f9" if bench else "cilium-x7k2p"
    pod = {
        "metadata": {"name": name, "namespace": "cilium-test" if bench else "kube-system"},
        "spec": {
            "hostNetwork": not bench,
            "nodeName": node.name,
            "containers": [{"name": "c", "image": ref}],
        },
    }
    clock = clock or Clock()
    return ExecContext(
        pod=pod,
        container="c",
        node=node,
        cilium_version=version,
        boot=boot,
        config=config,
        resolve=lambda ip, port=None: None,
        rng=random.Random(0),
        clock=lambda: clock.now,
        advance=clock.advance,
    )
