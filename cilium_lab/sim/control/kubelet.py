"""What the scheduler and the kubelets do in the embedded cluster: place pods, start them, crash-loop them.

Runs within the controllers' tick, with the store lock held. A new pod is bound to a node
(spec.nodeName, nodeSelector and required node affinity respected, fewest pods first), starts after
`Timing.start` seconds of wall time with an IP from its node's pod CIDR (hostNetwork pods get the
node IP), and its `cilium-agent` container boots the emulated agent (`behaviour.boot`) with the
node's effective config. A failed boot (or the crash-loop fault) leaves the container waiting in
CrashLoopBackOff, restarting every `Timing.crash_backoff` seconds with the config read anew.
Node faults: a NotReady node's Ready condition turns False, its pods become unready and new ones
stay Pending. Records the events a kubelet and the scheduler send (`events`): `Scheduled` on
binding, `Pulled`/`Created`/`Started` per container start (repeats are counted, not added) and
`BackOff` for a crash-looping container. A pod no node takes gets the scheduler's PodScheduled=False
(Unschedulable) condition with its message (no FailedScheduling event). A Node object registered
through the API has no kubelet here: its pods stay Pending, as with no kubelet running.
Simplifications: no resource accounting, taints (but a NotReady node's, in the scheduler's message)
or graceful termination (so no `Killing` events); images are always present on the node.
"""

from __future__ import annotations

import copy
import hashlib
import ipaddress
from typing import Any

from cilium_lab.sim.agent.runtime import Boot
from cilium_lab.sim.control import behaviour
from cilium_lab.sim.control.backend import Backend, image_version
from cilium_lab.sim.control.events import Recorder
from cilium_lab.sim.state import selectors
from cilium_lab.sim.state.object_store import now_rfc3339

AGENT_CONTAINER = "cilium-agent"
Pod = dict[str, Any]


def is_agent_pod(pod: Pod) -> bool:
    owners = pod["metadata"].get("ownerReferences") or []
    return any(o.get("kind") == "DaemonSet" for o in owners) and any(
        c["name"] == AGENT_CONTAINER for c in pod["spec"]["containers"]
    )


def sync_nodes(b: Backend) -> None:
    """The Ready condition of each node this cluster runs a kubelet for. A Node object someone else
    registered has no kubelet here: it keeps what it was given (the real node controller marks it Unknown
    after a grace period; simplification: never)."""
    for seen in b.store.view("nodes"):
        if seen["metadata"]["name"] not in b.nodes:
            continue
        want = "False" if b.faults.not_ready(seen["metadata"]["name"]) else "True"
        if next(c for c in seen["status"]["conditions"] if c["type"] == "Ready")["status"] != want:
            node = copy.deepcopy(seen)  # the store's own object is only read; writes go through update
            ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
            ready.update(
                status=want,
                reason="KubeletReady" if want == "True" else "NodeStatusUnknown",
                message="kubelet is posting ready status"
                if want == "True"
                else "Kubelet stopped posting node status.",
                lastTransitionTime=now_rfc3339(),
            )
            b.store.update("nodes", node, check_version=False)


def node_ready(b: Backend, name: str) -> bool:
    """Whether the node's kubelet runs pods: False for a node this cluster has no kubelet for."""
    return name in b.nodes and not b.faults.not_ready(name)


def _fits(pod: Pod, node: dict[str, Any]) -> bool:
    labels = node["metadata"].get("labels") or {}
    if any(labels.get(k) != v for k, v in (pod["spec"].get("nodeSelector") or {}).items()):
        return False
    affinity = ((pod["spec"].get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    )
    if not affinity:
        return True
    fields = {"metadata.name": node["metadata"]["name"]}
    for term in affinity.get("nodeSelectorTerms") or []:
        by_label = selectors.match_label_selector({"matchExpressions": term.get("matchExpressions")}, labels)
        by_field = selectors.match_label_selector({"matchExpressions": term.get("matchFields")}, fields)
        if by_label and by_field:
            return True
    return False


def scheduler_instance(b: Backend) -> str:
    """The scheduler's reportingInstance: default-scheduler-<host>, on the (first) control-plane node."""
    nodes = b.profile.nodes
    return "default-scheduler-" + next((n.name for n in nodes if n.control_plane), nodes[0].name)


def schedule(b: Backend, events: Recorder) -> None:
    pods = b.store.view("pods")
    load = {n: sum(1 for p in pods if p["spec"].get("nodeName") == n) for n in b.nodes}
    for seen in pods:
        if seen["spec"].get("nodeName"):
            continue
        pod = copy.deepcopy(seen)
        nodes = [
            n
            for n in b.store.view("nodes")
            if n["metadata"]["name"] in b.nodes and node_ready(b, n["metadata"]["name"]) and _fits(pod, n)
        ]
        if not nodes:
            _mark_unschedulable(b, pod)  # stays Pending, as an unschedulable pod does
            continue
        name = min(nodes, key=lambda n: (load[n["metadata"]["name"]], n["metadata"]["name"]))["metadata"][
            "name"
        ]
        load[name] += 1
        pod["spec"]["nodeName"] = name
        pod["status"]["conditions"] = [
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": now_rfc3339()}
        ]
        b.store.update("pods", pod, check_version=False)
        events.emit_scheduled(pod, name, scheduler_instance(b))


# kube-scheduler 1.32's words (framework/types.go FitError.Error, scheduler.go ErrNoNodesAvailable, the
# TaintToleration and NodeAffinity filters, and default preemption's PostFilter message)
NO_NODES = "no nodes available to schedule pods"
NOT_READY_TAINT = "node(s) had untolerated taint {node.kubernetes.io/not-ready: }"
NO_MATCH = "node(s) didn't match Pod's node affinity/selector"


def unschedulable_message(b: Backend, pod: Pod) -> str:
    """Why no node takes `pod`, as the scheduler words it: per node the first filter that fails (a NotReady
    node's taint before the node selector), counted; then preemption's verdict (it cannot help either)."""
    nodes = b.store.view("nodes")
    if not nodes:
        return NO_NODES
    reasons: dict[str, int] = {}
    for node in nodes:
        name = node["metadata"]["name"]
        reason = NOT_READY_TAINT if name in b.nodes and not node_ready(b, name) else NO_MATCH
        reasons[reason] = reasons.get(reason, 0) + 1
    total = len(nodes)
    listed = ", ".join(sorted(f"{count} {reason}" for reason, count in reasons.items()))
    preemption = (
        f"preemption: 0/{total} nodes are available: {total} Preemption is not helpful for scheduling."
    )
    return f"0/{total} nodes are available: {listed}. {preemption}"


def _mark_unschedulable(b: Backend, pod: Pod) -> None:
    """The PodScheduled=False condition the scheduler sets on a pod no node takes (written only when it changes)."""
    message = unschedulable_message(b, pod)
    conditions = pod["status"].get("conditions") or []
    current = next((c for c in conditions if c.get("type") == "PodScheduled"), {})
    if current.get("reason") == "Unschedulable" and current.get("message") == message:
        return
    condition = {"type": "PodScheduled", "status": "False", "lastProbeTime": None,
                 "lastTransitionTime": current.get("lastTransitionTime") or now_rfc3339(),
                 "reason": "Unschedulable", "message": message}  # fmt: skip
    pod["status"]["conditions"] = [c for c in conditions if c.get("type") != "PodScheduled"] + [condition]
    b.store.update("pods", pod, check_version=False)


def _free_ip(b: Backend, node: str, pods: list[Pod]) -> str:
    # the store as it is now: a pod started earlier in this same tick already holds its address
    used = {p.get("status", {}).get("podIP") for p in (*pods, *b.store.view("pods"))}
    hosts = ipaddress.ip_network(b.nodes[node].pod_cidr).hosts()
    next(hosts)  # .1 is the node's cilium_host router address
    return next(str(h) for h in hosts if str(h) not in used)


def _container_id(pod: Pod, name: str, restarts: int) -> str:
    digest = hashlib.sha256(f"{pod['metadata']['uid']}/{name}/{restarts}".encode()).hexdigest()
    return f"containerd://{digest}"


def _boot_agent(b: Backend, pod: Pod, container: dict[str, Any]) -> Boot:
    node = pod["spec"]["nodeName"]
    config = b.node_config(node)
    boot = behaviour.boot(image_version(container["image"]), config, b.nodes[node])
    if boot.ok and b.faults.crash_looping(node):
        message = "fault injected by the embedded cluster: agent crash loop on this node"
        boot = Boot(ok=False, datapath=None, log=(*boot.log, f'level=fatal msg="{message}"'), error=message)
    b.boots[pod["metadata"]["uid"]] = boot
    b.boot_configs[pod["metadata"]["uid"]] = config
    return boot


def _container_status(
    pod: Pod, container: dict[str, Any], ok: bool, restarts: int, ready: bool
) -> dict[str, Any]:
    status: dict[str, Any] = {
        "name": container["name"],
        "image": container["image"],
        "imageID": container["image"],
        "containerID": _container_id(pod, container["name"], restarts),
        "restartCount": restarts,
        "ready": ok and ready,
        "started": ok,
    }
    if ok:
        status["state"] = {"running": {"startedAt": now_rfc3339()}}
    else:
        status["state"] = {
            "waiting": {
                "reason": "CrashLoopBackOff",
                "message": f"back-off 10s restarting failed container={container['name']} pod={pod['metadata']['name']}",
            }
        }
        status["lastState"] = {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": now_rfc3339()}}
    return status


def start(b: Backend, events: Recorder, pod: Pod, pods: list[Pod], restarts: int = 0) -> None:
    """Run the pod's containers (again, for a restart): boot the agent, set IPs, phase and conditions."""
    node = pod["spec"]["nodeName"]
    status = pod["status"]
    if not status.get("podIP"):
        ip = b.nodes[node].internal_ip if pod["spec"].get("hostNetwork") else _free_ip(b, node, pods)
        status.update(
            podIP=ip, podIPs=[{"ip": ip}], hostIP=b.nodes[node].internal_ip, startTime=now_rfc3339()
        )
    ready = node_ready(b, node)
    statuses = []
    for container in pod["spec"]["containers"]:
        ok = True
        if container["name"] == AGENT_CONTAINER and is_agent_pod(pod):
            ok = _boot_agent(b, pod, container).ok
        statuses.append(_container_status(pod, container, ok, restarts, ready))
    all_ready = all(s["ready"] for s in statuses)
    status["phase"] = "Running"
    status["containerStatuses"] = statuses
    status["conditions"] = _conditions(all_ready)
    b.store.update("pods", pod, check_version=False)
    for container in pod["spec"]["containers"]:
        _container_events(events, pod, container, node)


def _container_events(events: Recorder, pod: Pod, container: dict[str, Any], node: str) -> None:
    # messages of kubelet 1.26: pkg/kubelet/images/image_manager.go, kuberuntime/kuberuntime_container.go
    name = container["name"]
    for reason, message in (
        ("Pulled", f'Container image "{container["image"]}" already present on machine'),
        ("Created", f"Created container {name}"),
        ("Started", f"Started container {name}"),
    ):
        events.emit(
            pod, reason, message, component="kubelet", host=node, field_path=f"spec.containers{{{name}}}"
        )


def back_off(events: Recorder, pod: Pod) -> None:
    """The kubelet's Warning for a container waiting out its restart back-off (kuberuntime_manager.go,
    doBackOff; the pod as format.Pod prints it: name_namespace(uid))."""
    meta = pod["metadata"]
    for cs in pod["status"].get("containerStatuses", []):
        if (cs.get("state", {}).get("waiting") or {}).get("reason") != "CrashLoopBackOff":
            continue
        message = (
            f"Back-off restarting failed container {cs['name']} in pod "
            f"{meta['name']}_{meta['namespace']}({meta['uid']})"
        )
        events.emit(
            pod,
            "BackOff",
            message,
            component="kubelet",
            host=pod["spec"]["nodeName"],
            type_="Warning",
            field_path=f"spec.containers{{{cs['name']}}}",
        )


def _conditions(ready: bool) -> list[dict[str, str]]:
    at = now_rfc3339()
    flag = "True" if ready else "False"
    return [
        {"type": t, "status": s, "lastTransitionTime": at}
        for t, s in (
            ("Initialized", "True"),
            ("Ready", flag),
            ("ContainersReady", flag),
            ("PodScheduled", "True"),
        )
    ]


def container_log(b: Backend, pod: Pod, container: str, tail_lines: int | None = None) -> str:
    """What the container printed, as `kubectl logs` shows it: the agent container's boot log (the
    emulated containers of other images print nothing); `tail_lines`: only the last that many lines."""
    boot = b.boots.get(pod["metadata"]["uid"])
    lines = list(boot.log) if boot and container == AGENT_CONTAINER else []
    if tail_lines is not None:
        lines = lines[-tail_lines:] if tail_lines else []
    return "".join(f"{line}\n" for line in lines)


class LogRefused(Exception):
    """The kubelet's refusal of a container's log, in its words (a 400 BadRequest on a real cluster)."""


# Kubelet.validateContainerLogStatus words the two image-pull reasons in its own way (kubelet_pods.go, 1.32.13)
_WAITING_WORDS = {
    "ErrImagePull": "image can't be pulled",
    "ImagePullBackOff": "trying and failing to pull image",
}


def exec_refusal(pod: Pod, container: str) -> str | None:
    """The kubelet's refusal of an exec into a container that does not run (Pending, crash-looping): its
    Kubelet.GetExec finds only running containers (pkg/kubelet/kubelet_pods.go, 1.32.13); None when it runs."""
    statuses = pod.get("status", {}).get("containerStatuses") or []
    status = next((cs for cs in statuses if cs["name"] == container), {})
    return None if "running" in (status.get("state") or {}) else f'container not found ("{container}")'


def log_status(pod: Pod, container: str, previous: bool) -> dict[str, Any]:
    """The status of the container whose log `kubectl logs` gets, as the kubelet picks it
    (Kubelet.validateContainerLogStatus, pkg/kubelet/kubelet_pods.go, Kubernetes 1.32.13): with `previous` the
    last terminated one; else the running one, or the one that last ran for a container waiting to restart
    (CrashLoopBackOff); LogRefused, in the kubelet's words, when there is none. Simplifications: a container
    the kubelet has not started yet has no status here (the kubelet's says waiting, ContainerCreating); a
    restarted container has no lastState here, so `restartCount` stands for it; and the emulator keeps only the
    last boot per pod, so the previous log and a crash-looping container's current one are the same text
    (as on a real node while the container waits: both name lastState.terminated's container)."""
    name = pod["metadata"]["name"]
    statuses = pod.get("status", {}).get("containerStatuses") or []
    status = next((cs for cs in statuses if cs["name"] == container), None)
    if status is None:
        raise LogRefused(f'container "{container}" in pod "{name}" is waiting to start: ContainerCreating')
    state = status.get("state") or {}
    ran = "terminated" in (status.get("lastState") or {}) or bool(status.get("restartCount"))
    if previous:
        if not ran:
            raise LogRefused(f'previous terminated container "{container}" in pod "{name}" not found')
        return status
    if "running" in state or "terminated" in state or ran:
        return status
    reason = (state.get("waiting") or {}).get("reason")
    if reason is None:
        raise LogRefused(f'container "{container}" in pod "{name}" is waiting to start - no logs yet')
    raise LogRefused(
        f'container "{container}" in pod "{name}" is waiting to start: {_WAITING_WORDS.get(reason, reason)}'
    )


def crash_looping(pod: Pod) -> bool:
    return any(
        (cs.get("state", {}).get("waiting") or {}).get("reason") == "CrashLoopBackOff"
        for cs in pod.get("status", {}).get("containerStatuses", [])
    )


def sync_readiness(b: Backend, seen: Pod) -> None:
    """Running pods on a NotReady node turn unready; they recover when the node does.

    `seen` may be the store's own object: it is copied before anything changes."""
    want = node_ready(b, seen["spec"]["nodeName"])
    if all(
        cs.get("ready") == (want and "running" in cs.get("state", {}))
        for cs in seen["status"].get("containerStatuses", [])
    ):
        return
    pod = copy.deepcopy(seen)
    changed = False
    for cs in pod["status"].get("containerStatuses", []):
        value = want and "running" in cs.get("state", {})
        if cs.get("ready") != value:
            cs["ready"], changed = value, True
    if changed:
        pod["status"]["conditions"] = _conditions(
            all(cs["ready"] for cs in pod["status"]["containerStatuses"])
        )
        b.store.update("pods", pod, check_version=False)
