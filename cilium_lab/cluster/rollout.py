"""Restart the Cilium agents (all of them, or those on chosen nodes) and wait, ending early on a crash loop.

Called by `change.config.applying` and `change.restarts`; calls `cluster.objects` and `cluster.discover`. The
whole-cluster restart is the patch `kubectl rollout restart` makes (a `kubectl.kubernetes.io/restartedAt`
pod-template annotation); it is done when the DaemonSet's status has observed the new generation and
every scheduled pod is updated and ready (the checks `kubectl rollout status` makes). A per-node
restart deletes the agent pods on those nodes and waits for their replacements to be ready: the way
operators roll out a canary CiliumNodeConfig without touching the other nodes' agents
(https://docs.cilium.io/en/stable/configuration/per-node-config/ : the agent reads it at start).
`not_ready_nodes` tells which nodes cannot restart an agent at all (a DaemonSet rollout stalls on them).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cilium_lab.cluster import apierrors, discover, objects, polling
from cilium_lab.cluster.connect import Connection

DONE, TIMEOUT, CRASH_LOOP = "done", "timeout", "crash-loop"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"

Progress = Callable[[str], None]


@dataclass(frozen=True)
class RolloutResult:
    state: str  # DONE, TIMEOUT or CRASH_LOOP
    message: str
    crash_looping: tuple[str, ...] = ()  # nodes whose agent crash-loops
    seconds: float = 0.0
    not_ready: tuple[str, ...] = field(default=())


def restart(conn: Connection, namespace: str, daemonset: str) -> str:
    """Patch the pod template so the DaemonSet replaces every agent pod; returns the timestamp set."""
    # kubectl stamps whole seconds; two restarts within one second would then leave the template
    # unchanged and roll nothing out, so the stamp carries microseconds (RFC 3339 allows them)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    body = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: stamp}}}}}
    objects.request(
        conn,
        conn.apps.patch_namespaced_daemon_set,
        daemonset,
        namespace,
        body,
        verb="patch",
        resource="daemonsets",
        namespace=namespace,
        name=daemonset,
    )
    return stamp


def _progress(ds: objects.Obj) -> tuple[bool, str]:
    generation = ds.get("metadata", {}).get("generation", 0)
    status = ds.get("status", {})
    desired = status.get("desiredNumberScheduled", 0)
    updated = status.get("updatedNumberScheduled", 0)
    ready = status.get("numberReady", 0)
    unavailable = status.get("numberUnavailable", 0) or 0
    observed = status.get("observedGeneration", 0) >= generation
    done = observed and updated >= desired and ready >= desired and unavailable == 0
    return done, f"{updated}/{desired} updated, {ready}/{desired} ready, {unavailable} unavailable"


def wait(
    conn: Connection,
    install: discover.CiliumInstall,
    *,
    timeout: float,
    progress: Progress | None = None,
    poll: float | None = None,
) -> RolloutResult:
    """Poll until the rollout is done, an agent crash-loops, or `timeout` seconds pass."""
    start = time.monotonic()
    delays = polling.intervals(cap=poll or polling.CAP)
    last = ""
    while True:
        ds = objects.request(
            conn,
            conn.apps.read_namespaced_daemon_set,
            install.daemonset,
            install.namespace,
            verb="get",
            resource="daemonsets",
            namespace=install.namespace,
            name=install.daemonset,
        )
        done, line = _progress(ds)
        elapsed = time.monotonic() - start
        if progress and line != last:
            progress(f"rollout of {install.namespace}/{install.daemonset}: {line}")
            last = line
        if done:
            return RolloutResult(DONE, f"rolled out in {elapsed:.1f}s ({line})", seconds=elapsed)
        pods = discover.agent_pods(conn, install.namespace, install.selector)
        looping = tuple(sorted(n for n, p in pods.items() if _current(p, ds) and _looping(p)))
        if looping:
            return RolloutResult(CRASH_LOOP, f"agent crash-loops on {', '.join(looping)}", looping, elapsed)
        if elapsed >= timeout:
            not_ready = tuple(sorted(n for n, p in pods.items() if not p.ready))
            message = f"rollout did not finish within {timeout:g}s ({line})"
            return RolloutResult(TIMEOUT, message, seconds=elapsed, not_ready=not_ready)
        polling.pause(delays, start + timeout)


def _looping(pod: discover.AgentPod) -> bool:
    return pod.waiting_reason == "CrashLoopBackOff"


def _current(pod: discover.AgentPod, ds: objects.Obj) -> bool:
    """Whether the pod runs the DaemonSet's current template. An old pod that crash-loops (say, on the
    config a rollback just undid) is about to be replaced and says nothing about the new one; a pod
    without the label (the DaemonSet controller sets it) counts as current."""
    generation = str(ds.get("metadata", {}).get("generation", ""))
    return not pod.template_generation or not generation or pod.template_generation == generation


def not_ready_nodes(conn: Connection, names: Collection[str]) -> dict[str, str]:
    """Node -> why it is not Ready, for those of `names` whose Ready condition is not True (or that are gone)."""
    found = {objects.name_of(n): n for n in discover.list_nodes(conn)}
    out: dict[str, str] = {}
    for name in names:
        node = found.get(name)
        if node is None:
            out[name] = "the node is gone"
            continue
        conditions = (node.get("status") or {}).get("conditions") or []
        ready = next((c for c in conditions if c.get("type") == "Ready"), {})
        if ready.get("status") != "True":
            out[name] = (
                f"Ready={ready.get('status', 'Unknown')}: {ready.get('message') or ready.get('reason') or 'no reason given'}"
            )
    return out


def _delete_pod(conn: Connection, namespace: str, name: str) -> None:
    try:
        objects.request(
            conn,
            conn.core.delete_namespaced_pod,
            name,
            namespace,
            verb="delete",
            resource="pods",
            namespace=namespace,
            name=name,
        )
    except apierrors.NotFound:
        return  # already replaced: the wait below sees the new pod
    except apierrors.Forbidden as err:
        # apierrors names the benchmark role for pods; agent pods are the operator's to restart
        raise apierrors.Forbidden(
            f"forbidden: cannot delete pods in {namespace} to restart the agent {name}; the operator role"
            f" cilium-lab-operator needs `delete` on pods in {namespace} ({err})"
        ) from None


def restart_nodes(conn: Connection, install: discover.CiliumInstall, nodes: Sequence[str]) -> dict[str, str]:
    """Delete the agent pod on each node; returns node -> the deleted pod's name ("" if it had none).

    The DaemonSet controller recreates each pod, and the new agent reads its config (cilium-config
    with the CiliumNodeConfigs that select its node) when it starts, as `kubectl delete pod` does.
    """
    pods = discover.agent_pods(conn, install.namespace, install.selector)
    replaced: dict[str, str] = {}
    for node in nodes:
        pod = pods.get(node)
        if pod is not None:
            _delete_pod(conn, install.namespace, pod.name)
        replaced[node] = pod.name if pod else ""
    return replaced


def _fresh(pods: dict[str, discover.AgentPod], replaced: dict[str, str]) -> dict[str, discover.AgentPod]:
    return {n: p for n in replaced if (p := pods.get(n)) is not None and p.name != replaced[n]}


def wait_nodes(
    conn: Connection,
    install: discover.CiliumInstall,
    replaced: dict[str, str],
    *,
    timeout: float,
    progress: Progress | None = None,
    poll: float | None = None,
) -> RolloutResult:
    """Poll until each node of `replaced` runs a new, ready agent pod; end early on a crash loop."""
    start = time.monotonic()
    delays = polling.intervals(cap=poll or polling.CAP)
    last = ""
    while True:
        fresh = _fresh(discover.agent_pods(conn, install.namespace, install.selector), replaced)
        ready = sorted(n for n, p in fresh.items() if p.ready)
        elapsed = time.monotonic() - start
        line = f"{len(ready)}/{len(replaced)} restarted agents ready on {', '.join(replaced)}"
        if progress and line != last:
            progress(f"restart of the agents on {', '.join(replaced)}: {line}")
            last = line
        if len(ready) == len(replaced):
            return RolloutResult(DONE, f"restarted in {elapsed:.1f}s ({line})", seconds=elapsed)
        looping = tuple(sorted(n for n, p in fresh.items() if p.waiting_reason == "CrashLoopBackOff"))
        if looping:
            return RolloutResult(CRASH_LOOP, f"agent crash-loops on {', '.join(looping)}", looping, elapsed)
        if elapsed >= timeout:
            not_ready = tuple(n for n in replaced if n not in ready)
            message = f"the agents on {', '.join(not_ready)} were not ready within {timeout:g}s"
            return RolloutResult(TIMEOUT, message, seconds=elapsed, not_ready=not_ready)
        polling.pause(delays, start + timeout)
