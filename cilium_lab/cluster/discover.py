"""Find the Cilium install of a cluster: namespace, agent DaemonSet, cilium-config, version, agent pods.

Called by `cluster.snapshot`, `cilium_lab.targets` (`is_simulated`) and the change modules; calls
`cluster.objects`. The version comes from the agent image tag (also when the image is pinned by
digest, `quay.io/cilium/cilium:v1.13.4@sha256:...`); Helm management from the ConfigMap's
`app.kubernetes.io/managed-by=Helm` label or `meta.helm.sh/release-name` annotation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from cilium_lab.cluster import apierrors, objects
from cilium_lab.cluster.connect import Connection
from cilium_lab.errors import ClusterError

NAMESPACES = ("kube-system", "cilium")
DAEMONSET = "cilium"
CONFIGMAP = "cilium-config"
AGENT_CONTAINER = "cilium-agent"
SIMULATED_LABEL = "cilium-lab.io/simulated"
_TAG = re.compile(r":v?(\d+\.\d+\.\d+[0-9A-Za-z.\-]*)(?:@sha256:[0-9a-f]+)?$")


@dataclass(frozen=True)
class AgentPod:
    name: str
    node: str
    phase: str
    ready: bool
    waiting_reason: str = ""  # "CrashLoopBackOff", "ContainerCreating", ...
    restarts: int = 0
    template_generation: str = ""  # the DaemonSet generation it was made from (label pod-template-generation)


@dataclass(frozen=True)
class CiliumInstall:
    namespace: str
    daemonset: str
    configmap: str
    version: str
    image: str
    selector: dict[str, str]
    helm_managed: bool
    helm_release: str = ""
    agents: dict[str, AgentPod] = field(default_factory=dict, hash=False)  # node -> newest agent pod

    @property
    def status_command(self) -> tuple[str, ...]:
        """`cilium-dbg` from 1.15 on, `cilium` before (reference B.1)."""
        major, minor = (int(p) for p in self.version.split(".")[:2])
        binary = "cilium-dbg" if (major, minor) >= (1, 15) else "cilium"
        return (binary, "status", "--verbose")


def version_from_image(image: str) -> str:
    """ "quay.io/cilium/cilium:v1.13.4@sha256:..." -> "1.13.4"; ClusterError when there is no version tag."""
    match = _TAG.search(image)
    if not match:
        raise ClusterError(
            f"cannot tell the Cilium version from the agent image {image!r}: it has no vX.Y.Z tag;"
            " use an image with a version tag"
        )
    return match.group(1)


def _find_daemonset(conn: Connection) -> tuple[str, objects.Obj]:
    for namespace in NAMESPACES:
        try:
            return namespace, objects.request(
                conn,
                conn.apps.read_namespaced_daemon_set,
                DAEMONSET,
                namespace,
                verb="get",
                resource="daemonsets",
                namespace=namespace,
                name=DAEMONSET,
            )
        except apierrors.NotFound:
            continue
    raise ClusterError(
        f"no Cilium DaemonSet found in {' or '.join(NAMESPACES)} namespaces; is Cilium installed?"
        " (kubectl get ds -A | grep cilium)"
    )


def _agent_image(ds: objects.Obj) -> str:
    containers = ds.get("spec", {}).get("template", {}).get("spec", {}).get("containers", [])
    agent = next(
        (c for c in containers if c.get("name") == AGENT_CONTAINER), containers[0] if containers else {}
    )
    return str(agent.get("image", ""))


def agent_pods(conn: Connection, namespace: str, selector: dict[str, str]) -> dict[str, AgentPod]:
    """Node name -> its agent pod (the newest, when a rollout leaves two on a node)."""
    label_selector = ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
    listing = objects.request(
        conn,
        conn.core.list_namespaced_pod,
        namespace,
        label_selector=label_selector,
        verb="list",
        resource="pods",
        namespace=namespace,
    )
    pods = sorted(listing.get("items", []), key=lambda p: p["metadata"].get("creationTimestamp", ""))
    out: dict[str, AgentPod] = {}
    for pod in pods:
        node = pod.get("spec", {}).get("nodeName")
        if node and not pod["metadata"].get("deletionTimestamp"):
            out[node] = _agent_pod(pod, node)
    return out


def _agent_pod(pod: objects.Obj, node: str) -> AgentPod:
    status = pod.get("status", {})
    statuses = status.get("containerStatuses") or []
    agent = next((s for s in statuses if s.get("name") == AGENT_CONTAINER), statuses[0] if statuses else {})
    waiting = (agent.get("state") or {}).get("waiting") or {}
    return AgentPod(
        name=objects.name_of(pod),
        node=node,
        phase=str(status.get("phase", "")),
        ready=bool(agent.get("ready")),
        waiting_reason=str(waiting.get("reason", "")),
        restarts=int(agent.get("restartCount") or 0),
        template_generation=str(objects.labels(pod).get("pod-template-generation", "")),
    )


def find(conn: Connection) -> CiliumInstall:
    """The Cilium install, or a ClusterError saying it is not there."""
    namespace, ds = _find_daemonset(conn)
    image = _agent_image(ds)
    config = objects.request(
        conn,
        conn.core.read_namespaced_config_map,
        CONFIGMAP,
        namespace,
        verb="get",
        resource="configmaps",
        namespace=namespace,
        name=CONFIGMAP,
    )
    labels, notes = objects.labels(config), objects.annotations(config)
    selector = dict(ds.get("spec", {}).get("selector", {}).get("matchLabels") or {"k8s-app": "cilium"})
    return CiliumInstall(
        namespace=namespace,
        daemonset=DAEMONSET,
        configmap=CONFIGMAP,
        version=version_from_image(image),
        image=image,
        selector=selector,
        helm_managed=labels.get("app.kubernetes.io/managed-by") == "Helm"
        or "meta.helm.sh/release-name" in notes,
        helm_release=notes.get("meta.helm.sh/release-name", ""),
        agents=agent_pods(conn, namespace, selector),
    )


def list_nodes(conn: Connection) -> list[objects.Obj]:
    return objects.request(conn, conn.core.list_node, verb="list", resource="nodes").get("items", [])


def is_simulated(conn: Connection) -> bool:
    """True when the nodes carry the embedded cluster's label `cilium-lab.io/simulated: "true"`."""
    nodes = list_nodes(conn)
    return bool(nodes) and all(objects.labels(n).get(SIMULATED_LABEL) == "true" for n in nodes)
