"""The benchmark deployment of one measurement: choose nodes, create the pods, remove them afterwards.

Called by `bench.runner`; calls `cluster.discover` (nodes) and `cluster.workloads` (Kubernetes
calls). `deployed()` is a context manager: it holds the run's liveness record (`bench.liveness`:
refused with exit code 3 while another live run measures on the same nodes), sweeps what dead runs
left (never a live run's pods), creates only the pods the chosen scenarios need (plus a ClusterIP
service for pod-to-service), labelled with the run id, waits until they run, and deletes them in a
`finally`, so Ctrl-C (KeyboardInterrupt) or an error leaves nothing behind. The image is the one cilium-cli pins (netbench.md §10, cilium-cli defaults/defaults.go;
the digest there is truncated in our reference, so we pin the tag).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from cilium_lab import limits
from cilium_lab.bench import liveness, netperf, scenarios
from cilium_lab.cluster import discover, objects, workloads
from cilium_lab.cluster.connect import Connection
from cilium_lab.errors import ClusterError, InputError

DEFAULT_IMAGE = "quay.io/cilium/network-perf:3.21-1782913202-88c270c"
CLIENT_COMMAND = (
    "/bin/bash",
    "-c",
    "sleep 10000000",
)  # the image ships bash; cilium-cli idles its clients so
SERVER_COMMAND = ("netserver", "-D")  # -D: stay in the foreground, the container's main process
MAX_STREAMS = limits.STREAMS[1]
log = logging.getLogger("cilium_lab")


@dataclass(frozen=True)
class Deployment:
    """The running pods of one measurement, by role, and the service address if there is one."""

    namespace: str
    run_id: str
    client_node: str
    server_node: str
    pods: dict[str, workloads.RunningPod]
    service_ip: str | None = None

    def endpoints(self, scenario: scenarios.Scenario) -> tuple[workloads.RunningPod, str]:
        """The client pod and the address it targets in this scenario."""
        server = self.pods[scenario.server_role]
        target = self.service_ip if scenario.via_service else server.ip
        return self.pods[scenario.client_role], str(target)


def choose_nodes(conn: Connection, client_node: str | None, server_node: str | None) -> tuple[str, str]:
    """Client and server node: as given, or the first two alike nodes (same arch and kernel, workers first)."""
    nodes = [n for n in discover.list_nodes(conn) if _eligible(n)]
    names = {objects.name_of(n) for n in nodes}
    for given in (client_node, server_node):
        if given and given not in names:
            raise InputError(
                f"node {given!r} is not a ready, schedulable node; choose from {', '.join(sorted(names))}"
            )
    if client_node and server_node:
        if client_node == server_node:
            raise InputError(
                "client and server node must differ; the same-node path is the scenario pod-to-pod-same-node"
            )
        return client_node, server_node
    groups: dict[tuple, list[str]] = {}
    for node in sorted(nodes, key=lambda n: (_is_control_plane(n), objects.name_of(n))):
        info = (node.get("status") or {}).get("nodeInfo") or {}
        groups.setdefault((info.get("architecture"), info.get("kernelVersion")), []).append(
            objects.name_of(node)
        )
    fixed = client_node or server_node
    for members in groups.values():
        if fixed and fixed in members and len(members) > 1:
            other = next(m for m in members if m != fixed)
            return (fixed, other) if client_node else (other, fixed)
        if not fixed and len(members) > 1:
            return members[1], members[0]
    raise ClusterError(
        "need two ready, schedulable nodes of the same architecture and kernel for benchmarks; name them with client_node/server_node"
    )


def _eligible(node: dict) -> bool:
    conditions = (node.get("status") or {}).get("conditions") or []
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
    excluded = objects.labels(node).get("cilium.io/no-schedule") == "true"  # as cilium-cli's selector
    return ready and not (node.get("spec") or {}).get("unschedulable") and not excluded


def _is_control_plane(node: dict) -> bool:
    return "node-role.kubernetes.io/control-plane" in objects.labels(node)


def pod_specs(
    suffix: str, roles: set[str], *, client_node: str, server_node: str, image: str, ports: tuple[int, ...]
) -> list[workloads.PodSpec]:
    """The pods for these roles: servers and same-node clients on the server node, others on the client node.
    Names get a fresh suffix per deployment, so a pod of an earlier one still terminating never clashes."""
    table = {
        scenarios.SERVER_POD: (server_node, False, SERVER_COMMAND, ports),
        scenarios.SERVER_HOST: (server_node, True, SERVER_COMMAND, ports),
        scenarios.CLIENT_POD_OTHER: (client_node, False, CLIENT_COMMAND, ()),
        scenarios.CLIENT_POD_SAME: (server_node, False, CLIENT_COMMAND, ()),
        scenarios.CLIENT_HOST_OTHER: (client_node, True, CLIENT_COMMAND, ()),
    }
    return [
        workloads.PodSpec(f"perf-{role}-{suffix}", role, node, host, command, image, tuple(p))
        for role, (node, host, command, p) in sorted(table.items())
        if role in roles
    ]


def service_ports(streams: int) -> tuple[int, ...]:
    """The control port plus one pinned data port per parallel stream (a Service forwards only these)."""
    return (netperf.NETSERVER_PORT, *range(netperf.NETSERVER_PORT + 1, netperf.NETSERVER_PORT + 1 + streams))


@contextmanager
def deployed(
    conn: Connection,
    *,
    run_id: str,
    chosen: list[scenarios.Scenario],
    client_node: str | None = None,
    server_node: str | None = None,
    image: str = DEFAULT_IMAGE,
    namespace: str = workloads.NAMESPACE,
    streams: int = 1,
    timeout: float = 180.0,
) -> Iterator[Deployment]:
    """Create the pods (and service) for `chosen`, yield them running, and always delete them."""
    if not isinstance(streams, int) or not 1 <= streams <= MAX_STREAMS:
        raise InputError(f"streams must be a whole number from 1 to {MAX_STREAMS}, got {streams!r}")
    client, server = choose_nodes(conn, client_node, server_node)
    workloads.ensure_namespace(conn, namespace)
    with liveness.held(conn, namespace, run_id, (client, server)):
        yield from _deploy(conn, namespace, run_id, chosen, client, server, image, streams, timeout)


def _deploy(
    conn: Connection,
    namespace: str,
    run_id: str,
    chosen: list[scenarios.Scenario],
    client: str,
    server: str,
    image: str,
    streams: int,
    timeout: float,
) -> Iterator[Deployment]:
    dead: set[str] = set()

    def alive() -> set[str]:
        found = liveness.records(conn, namespace)
        live = {r.run_id for r in found if r.live()} | {run_id}
        dead.update(r.run_id for r in found if r.run_id not in live)
        return live

    swept = workloads.sweep(conn, namespace, alive=alive)
    if swept:
        log.info("removed %d benchmark object(s) left by dead runs: %s", len(swept), ", ".join(swept))
    liveness.remove_dead(conn, namespace, dead)
    ports = service_ports(streams)
    suffix = secrets.token_hex(3)
    specs = pod_specs(
        suffix,
        scenarios.roles_needed(chosen),
        client_node=client,
        server_node=server,
        image=image,
        ports=ports,
    )
    try:
        for spec in specs:
            workloads.create_pod(conn, namespace, spec, run_id)
        service_ip = None
        if any(s.via_service for s in chosen):
            manifest = workloads.service_manifest(
                f"perf-service-{suffix}", run_id, target_role=scenarios.SERVER_POD, ports=ports
            )
            service_ip = workloads.create_service(conn, namespace, manifest)
        running = workloads.wait_running(conn, namespace, run_id, {s.name for s in specs}, timeout=timeout)
        pods = {p.role: p for p in running.values()}
        yield Deployment(namespace, run_id, client, server, pods, service_ip)
    finally:
        workloads.delete_run(conn, namespace, run_id)
