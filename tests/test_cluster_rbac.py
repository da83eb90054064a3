"""deploy/rbac.yaml on the embedded cluster, which loads that file and enforces RBAC for token users.

Every flow runs as a user holding only its roles (tests/rbac_flows.py) on a cluster that checks what
Kubernetes 1.35 checks; the audit log of the cluster then gives each flow's calls. The test fails on a call a
flow's roles refuse, and on a grant of the file (verb, resource, namespace, resourceName) that no flow holding
the role makes. Around it: the cluster's roles are the file's, resourceNames work as kube-apiserver's do,
the read-only role reads but cannot exec, and the 403 names the role that grants the call."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import rbac_flows
import yaml

from cilium_lab.cluster import apierrors, configmaps, discover, rollout, snapshot, workloads
from cilium_lab.cluster import exec as pod_exec
from cilium_lab.cluster.connect import connect
from cilium_lab.sim.control import bootstrap

sim_cluster = pytest.importorskip("cilium_lab.sim.cluster")
MANIFEST = Path(__file__).resolve().parents[1] / "deploy" / "rbac.yaml"
DOCS = [d for d in yaml.safe_load_all(MANIFEST.read_text()) if d]


def _kubeconfig(tmp_path, embedded_kubeconfig: str, token: str) -> str:
    """The embedded cluster's kubeconfig (server, CA) with another user's token."""
    return rbac_flows.kubeconfig_for(Path(tmp_path), embedded_kubeconfig, token)


@dataclasses.dataclass(frozen=True)
class Grant:
    role: str
    namespace: str  # "*" for a ClusterRole bound cluster-wide
    group: str
    resource: str  # "pods/exec"
    verb: str
    name: str  # "*" when the rule has no resourceNames

    def matches(self, e) -> bool:
        resource = e.resource + (f"/{e.subresource}" if e.subresource else "")
        return (
            e.allowed
            and self.namespace in ("*", e.namespace)
            and (self.group, self.resource, self.verb) == (e.group, resource, e.verb)
            and self.name in ("*", e.name)
        )


def grants() -> dict[str, tuple[set[str], set[Grant]]]:
    """Role -> (the groups bound to it, every (verb, resource, namespace, name) it grants), rule by rule."""
    roles = {(d["kind"], d["metadata"]["name"]): d for d in DOCS if d["kind"] in ("Role", "ClusterRole")}
    out: dict[str, tuple[set[str], set[Grant]]] = {}
    for binding in (d for d in DOCS if d["kind"].endswith("Binding")):
        ref = binding["roleRef"]
        namespace = binding["metadata"].get("namespace", "*")
        groups, granted = out.setdefault(f"{ref['kind']} {ref['name']}", (set(), set()))
        groups.update(s["name"] for s in binding["subjects"])
        granted.update(
            Grant(ref["name"], namespace, group, resource, verb, name)
            for rule in roles[(ref["kind"], ref["name"])]["rules"]
            for group in rule["apiGroups"]
            for resource in rule["resources"]
            for verb in rule["verbs"]
            for name in rule.get("resourceNames") or ["*"]
        )
    return out


@pytest.fixture(scope="module")
def audited(tmp_path_factory):
    """Each flow's name, groups and audited calls, from one cluster where the flows ran in order."""
    cluster = sim_cluster.EmbeddedCluster(profile="seed-mixed", seed=0)
    # Kubernetes 1.35 checks `create` on pods/exec for a websocket exec too: the strictest API server
    cluster.backend.profile = dataclasses.replace(cluster.backend.profile, kubernetes_version="v1.35.0")
    with cluster:
        admin = connect(str(cluster.kubeconfig))
        rollout.wait(admin, discover.find(admin), timeout=20)
        users = rbac_flows.run_all(cluster, tmp_path_factory.mktemp("flows"))
        yield [(f, cluster.backend.audit.entries(users[f.name])) for f in rbac_flows.FLOWS]


@pytest.mark.slow
def test_no_flow_is_refused_a_call(audited):
    refused = {
        flow.name: sorted(
            {(e.verb, e.resource, e.subresource, e.namespace, e.name) for e in calls if not e.allowed}
        )
        for flow, calls in audited
    }
    assert refused == {flow.name: [] for flow, _ in audited}


@pytest.mark.slow
def test_every_grant_is_used_by_a_flow_holding_it(audited):
    unused = []
    for role, (groups, granted) in grants().items():
        calls = [e for flow, entries in audited if groups & set(flow.groups) for e in entries]
        assert calls, f"no flow holds {role}"
        unused += [g for g in granted if not any(g.matches(e) for e in calls)]
    assert sorted(unused, key=str) == []


def test_the_embedded_cluster_holds_the_shipped_roles(embedded):
    """The file the embedded cluster loads is the shipped one, and every object of it is in the store as written."""
    assert bootstrap.rbac_manifest_path().resolve() == MANIFEST.resolve()  # deploy/rbac.yaml links to it
    store = embedded.backend.store
    keys = {"Namespace": "namespaces", **{k: f"{k.lower()}s.rbac.authorization.k8s.io" for k in
            ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")}}  # fmt: skip
    for doc in DOCS:
        meta = doc["metadata"]
        stored = store.find(keys[doc["kind"]], meta.get("namespace", ""), meta["name"])
        assert stored is not None, meta["name"]
        for field in ("rules", "roleRef", "subjects"):
            assert stored.get(field) == doc.get(field), (meta["name"], field)
        labels = stored["metadata"].get("labels") or {}
        assert labels.items() >= (meta.get("labels") or {}).items(), meta[
            "name"
        ]  # + kubernetes.io/metadata.name


def test_the_bench_namespace_is_labelled_as_the_code_creates_it():
    [bench_ns] = [
        d for d in DOCS if d["kind"] == "Namespace" and d["metadata"]["name"] == workloads.NAMESPACE
    ]
    assert bench_ns["metadata"]["labels"] == workloads.PSA_LABELS


def test_the_readonly_context_reads_but_cannot_exec_or_patch(embedded, conn):
    reader = connect(str(embedded.kubeconfig), context="readonly")
    snap = snapshot.take(reader)
    assert len(snap.nodes) == 6
    agent = next(iter(discover.find(reader).agents.values()))
    with pytest.raises(apierrors.Forbidden, match="cilium-lab-status-exec"):
        pod_exec.run(reader, "kube-system", agent.name, ["sh", "-c", "id"], container="cilium-agent")
    with pytest.raises(
        apierrors.Forbidden, match="cannot patch configmaps in kube-system; the operator role"
    ):
        configmaps.patch(reader, "kube-system", "cilium-config", {"x": "1"})


def test_status_readers_read_the_agents_and_operators_patch_only_cilium_config(embedded, conn, tmp_path):
    groups = (rbac_flows.INSPECT, rbac_flows.STATUS)
    reader = connect(_kubeconfig(tmp_path / "ro", str(embedded.kubeconfig), embedded.add_user("ro", groups)))
    snap = snapshot.take(reader)
    assert snap.problems == {} and all(n.status is not None for n in snap.nodes)  # read by exec
    operator = connect(
        _kubeconfig(tmp_path / "op", str(embedded.kubeconfig), embedded.add_user("op", (rbac_flows.OPERATE,)))
    )
    assert (
        configmaps.patch(operator, "kube-system", "cilium-config", {"cilium-lab-test": "1"}).data[
            "cilium-lab-test"
        ]
        == "1"
    )
    configmaps.create(conn, "kube-system", "someone-elses", {"k": "v"})
    with pytest.raises(apierrors.Forbidden, match="cannot patch configmaps"):
        configmaps.patch(operator, "kube-system", "someone-elses", {"k": "w"})
    with pytest.raises(apierrors.Forbidden, match="cannot update configmaps"):
        configmaps.replace_data(operator, "kube-system", "someone-elses", {"k": "w"})
    assert configmaps.read(conn, "kube-system", "someone-elses").data == {"k": "v"}
