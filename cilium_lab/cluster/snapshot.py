"""A snapshot of the cluster as it is: per node kernel, OS, NIC, MTUs, effective Cilium config and status.

Called by the labs, the scorecard and the change flow (before a plan, and again to verify after a
rollout); calls `cluster.discover`, `cluster.configmaps`, `cluster.nodeconfig`, `cluster.exec` and
`cilium.parse_status`. Node-local facts come from commands run in the node's agent pod, which shares
the host network namespace; nodes are read in parallel. A node whose agent does not run, or whose
commands fail, still yields a `NodeFacts` (unknown values None) and a reason in `Snapshot.problems`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

from cilium_lab.cilium import parse_status
from cilium_lab.cluster import configmaps, discover, framed, nodeconfig, objects
from cilium_lab.cluster import exec as pod_exec
from cilium_lab.cluster.connect import Connection
from cilium_lab.errors import ClusterError, LabError
from cilium_lab.facts import NodeFacts

EXEC_TIMEOUT = 30.0
_DEV = re.compile(r"\bdev\s+(\S+)")
_MTU = re.compile(r"\bmtu\s+(\d+)")
_MAXMTU = re.compile(r"\bmaxmtu\s+(\d+)")
_DRIVER = re.compile(r"^driver:\s*(\S+)", re.M)
# Host facts for lab 15; each is optional (not every node has cpufreq, tuned or systemd in reach).
HOST_COMMANDS = {
    "cpu_governor": ("cat", "/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"),
    "tuned_profile": ("tuned-adm", "active"),
    "irqbalance": ("systemctl", "is-active", "irqbalance"),
}
# The default route's device per node, as the last snapshot found it: (server, node) -> device.
# The device's link and driver depend on it, so without a guess they take a second exec after the route
# is read; with it they go out in the first, and the second runs only when the route names another device.
_DEVICE_SEEN: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class Snapshot:
    """The cluster at one moment; `simulated` is True on the embedded cluster (label it SIMULATED)."""

    context: str
    server: str
    install: discover.CiliumInstall
    config: dict[str, str]  # cilium-config data
    config_resource_version: str
    node_configs: tuple[dict, ...]  # CiliumNodeConfig objects
    nodes: tuple[NodeFacts, ...]
    simulated: bool
    problems: dict[str, str] = field(default_factory=dict)  # node -> why some facts are missing

    @property
    def cilium_version(self) -> str:
        return self.install.version

    @property
    def helm_managed(self) -> bool:
        return self.install.helm_managed

    @property
    def namespace(self) -> str:
        return self.install.namespace

    def node(self, name: str) -> NodeFacts:
        for facts in self.nodes:
            if facts.name == name:
                return facts
        raise KeyError(name)

    @property
    def node_names(self) -> tuple[str, ...]:
        return tuple(n.name for n in self.nodes)


def _node_base(node: objects.Obj) -> NodeFacts:
    info = node.get("status", {}).get("nodeInfo", {})
    conditions = node.get("status", {}).get("conditions") or []
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
    return NodeFacts(
        name=objects.name_of(node),
        kernel=str(info.get("kernelVersion", "")),
        arch=str(info.get("architecture", "")),
        os_image=str(info.get("osImage", "")),
        ready=ready,
    )


def parse_default_route(text: str) -> str | None:
    """`default via 192.168.7.1 dev enp1s0 proto dhcp ...` -> "enp1s0"."""
    match = _DEV.search(text)
    return match.group(1) if match else None


def parse_link(text: str) -> tuple[int | None, int | None]:
    """(mtu, maxmtu) from `ip -d link show <dev>`."""
    mtu, maxmtu = _MTU.search(text), _MAXMTU.search(text)
    return (int(mtu.group(1)) if mtu else None, int(maxmtu.group(1)) if maxmtu else None)


def parse_driver(text: str) -> str | None:
    match = _DRIVER.search(text)
    return match.group(1) if match else None


class _Agent:
    """Runs commands in one node's agent pod; remembers the first failure as the node's problem.

    Commands that do not depend on each other go out together (`run_all`) on the snapshot's shared
    exec pool: an exec is a round trip to the API server and the kubelet, so a node's dozen reads
    cost about one round trip instead of a dozen.
    """

    def __init__(self, conn: Connection, namespace: str, pod: str, pool: ThreadPoolExecutor) -> None:
        self.conn, self.namespace, self.pod, self.pool = conn, namespace, pod, pool
        self.problem = ""

    def run(self, *argv: str) -> str | None:
        try:
            out = pod_exec.run(
                self.conn,
                self.namespace,
                self.pod,
                argv,
                container=discover.AGENT_CONTAINER,
                timeout=EXEC_TIMEOUT,
            )
        except ClusterError as err:
            self.problem = self.problem or str(err)
            return None
        return out.stdout if out.ok else None

    def run_all(self, commands: Mapping[str, Sequence[str]]) -> dict[str, framed.Output]:
        """All `commands` in one exec of `sh -c` (one round trip instead of one per command); each
        command's stdout and whether it succeeded. Falls back to one exec each if `sh` is missing."""
        text = self.run("sh", "-c", framed.script(commands))
        if text is not None and framed.MARK in text:
            return framed.parse(text, commands)
        futures = {key: self.pool.submit(self.run, *argv) for key, argv in commands.items()}
        return {key: framed.Output(f.result() or "", f.result() is not None) for key, f in futures.items()}


def _read_node(
    conn: Connection,
    install: discover.CiliumInstall,
    base: NodeFacts,
    config: dict[str, str],
    pool: ThreadPoolExecutor,
) -> tuple[NodeFacts, str]:
    facts = replace(base, config=config, cilium_version=install.version)
    pod = install.agents.get(base.name)
    if pod is None or not pod.ready:
        why = (
            f"no Cilium agent on {base.name}"
            if pod is None
            else f"agent pod {pod.name} is not ready ({pod.waiting_reason or pod.phase})"
        )
        return facts, why
    agent = _Agent(conn, install.namespace, pod.name, pool)
    # cilium_host carries the MTU the agent gives pods (the device MTU it chose or was told); it exists
    # only while an agent has set the node up.
    seen_key = (conn.server, base.name)
    guess = _DEVICE_SEEN.get(seen_key)
    first = agent.run_all(
        {
            "route": ("ip", "-o", "route", "show", "default"),
            "cilium_host": ("ip", "-d", "link", "show", "cilium_host"),
            "status": install.status_command,
            "build": ("uname", "-v"),
            **{f"host:{k}": argv for k, argv in HOST_COMMANDS.items()},
            **(_device_commands(guess) if guess else {}),
        }
    )
    route = first["route"].value or agent.run("ip", "route", "show", "default") or ""
    device = parse_default_route(route)
    mtu = max_mtu = driver = None
    if device:
        _DEVICE_SEEN[seen_key] = device
        device_read = first if device == guess else agent.run_all(_device_commands(device))
        mtu, max_mtu = parse_link(device_read["link"].value or "")
        driver = parse_driver(device_read["driver"].value or "")
    pod_mtu, _ = parse_link(first["cilium_host"].value or "")
    status, problem = None, ""
    if first["status"].value:
        try:
            status = parse_status(first["status"].value)
        except LabError as err:
            problem = f"status of {pod.name} not understood: {err}"
    else:
        problem = f"`{' '.join(install.status_command)}` failed in {pod.name}"
    # host facts keep their output even on a non-zero exit: `systemctl is-active` says "inactive" with 3
    host = {k: v.strip() for k in HOST_COMMANDS if (v := first[f"host:{k}"].stdout) and v.strip()}
    facts = replace(
        facts,
        device=device,
        nic_driver=driver,
        mtu=mtu,
        max_mtu=max_mtu,
        pod_mtu=pod_mtu,
        status=status,
        host=host,
        kernel_build=(first["build"].value or "").strip() or None,
    )
    return facts, problem or agent.problem


def _device_commands(device: str) -> dict[str, tuple[str, ...]]:
    return {"link": ("ip", "-d", "link", "show", device), "driver": ("ethtool", "-i", device)}


def take(
    conn: Connection,
    *,
    install: discover.CiliumInstall | None = None,
    max_workers: int = 8,
    max_execs: int = 24,
) -> Snapshot:
    """Read the whole cluster; raises ClusterError only when Cilium or the API is out of reach."""
    install = install or discover.find(conn)
    cm = configmaps.read(conn, install.namespace, install.configmap)
    cncs = nodeconfig.list_all(conn, install.namespace, install.version)
    nodes = discover.list_nodes(conn)
    bases = [(_node_base(n), objects.labels(n)) for n in nodes]

    with ThreadPoolExecutor(max_workers=max_execs) as execs:

        def one(pair: tuple[NodeFacts, Mapping[str, str]]) -> tuple[NodeFacts, str]:
            base, labels = pair
            return _read_node(conn, install, base, nodeconfig.effective(cm.data, cncs, labels), execs)

        with ThreadPoolExecutor(max_workers=max(1, min(max_workers, len(bases) or 1))) as pool:
            results = list(pool.map(one, bases))
    simulated = bool(nodes) and all(labels.get(discover.SIMULATED_LABEL) == "true" for _, labels in bases)
    return Snapshot(
        context=conn.context,
        server=conn.server,
        install=install,
        config=cm.data,
        config_resource_version=cm.resource_version,
        node_configs=tuple(cncs),
        nodes=tuple(facts for facts, _ in results),
        simulated=simulated,
        problems={facts.name: why for facts, why in results if why},
    )
