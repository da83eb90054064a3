"""Restart the Cilium agents and wait for the DaemonSet rollout, ending early on a crash loop.

Called by `change.apply`; calls `cluster.objects` and `cluster.discover`. The restart is the patch
`kubectl rollout restart` makes (a `kubectl.kubernetes.io/restartedAt` pod-template annotation).
The rollout is done when the DaemonSet's status has observed the new generation and every
scheduled pod is updated and ready (the checks `kubectl rollout status` makes).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cilium_lab.cluster import discover, objects
from cilium_lab.cluster.connect import Connection

DONE, TIMEOUT, CRASH_LOOP = "done", "timeout", "crash-loop"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
POLL_SECONDS = 0.25

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
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: stamp}}}}}
    objects.request(
        conn, conn.apps.patch_namespaced_daemon_set, daemonset, namespace, body,
        verb="patch", resource="daemonsets", namespace=namespace, name=daemonset,
    )  # fmt: skip
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
    poll: float = POLL_SECONDS,
) -> RolloutResult:
    """Poll until the rollout is done, an agent crash-loops, or `timeout` seconds pass."""
    start = time.monotonic()
    last = ""
    while True:
        ds = objects.request(
            conn, conn.apps.read_namespaced_daemon_set, install.daemonset, install.namespace,
            verb="get", resource="daemonsets", namespace=install.namespace, name=install.daemonset,
        )  # fmt: skip
        done, line = _progress(ds)
        elapsed = time.monotonic() - start
        if progress and line != last:
            progress(f"rollout of {install.namespace}/{install.daemonset}: {line}")
            last = line
        if done:
            return RolloutResult(DONE, f"rolled out in {elapsed:.1f}s ({line})", seconds=elapsed)
        pods = discover.agent_pods(conn, install.namespace, install.selector)
        looping = tuple(sorted(n for n, p in pods.items() if p.waiting_reason == "CrashLoopBackOff"))
        if looping:
            return RolloutResult(CRASH_LOOP, f"agent crash-loops on {', '.join(looping)}", looping, elapsed)
        if elapsed >= timeout:
            not_ready = tuple(sorted(n for n, p in pods.items() if not p.ready))
            message = f"rollout did not finish within {timeout:g}s ({line})"
            return RolloutResult(TIMEOUT, message, seconds=elapsed, not_ready=not_ready)
        time.sleep(min(poll, max(0.0, timeout - elapsed)))
