"""kubectl (the real binary) against the embedded cluster: get, exec, patch, rollout restart/status, RBAC."""

from __future__ import annotations

import json
import shutil

import pytest

from cilium_lab.sim.cluster import EmbeddedCluster

pytestmark = [
    pytest.mark.kubectl,
    pytest.mark.skipif(shutil.which("kubectl") is None, reason="needs the kubectl binary"),
]


@pytest.fixture(scope="module")
def cluster():
    with EmbeddedCluster("seed-mixed", seed=11) as c:
        yield c


def test_get_nodes_wide_shows_kernels_and_roles(kubectl, cluster):
    lines = kubectl("get", "nodes", "-o", "wide").stdout.splitlines()
    assert lines[0].split() == [
        "NAME", "STATUS", "ROLES", "AGE", "VERSION", "INTERNAL-IP", "EXTERNAL-IP",
        "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME",
    ]  # fmt: skip
    rows = {line.split()[0]: line for line in lines[1:]}
    assert set(rows) == {n.name for n in cluster.profile.nodes}
    assert "control-plane" in rows["vm-1"] and "6.2.0-39-generic" in rows["vm-1"] and "Ready" in rows["vm-1"]
    assert "4.19.0-25-arm64" in rows["board-1"] and "192.168.7.21" in rows["board-1"]


def test_get_configmap_yaml_and_json(kubectl):
    assert "tunnel: vxlan" in kubectl("-n", "kube-system", "get", "cm", "cilium-config", "-o", "yaml").stdout
    doc = json.loads(kubectl("-n", "kube-system", "get", "ds", "cilium", "-o", "json").stdout)
    assert doc["spec"]["template"]["spec"]["containers"][0]["name"] == "cilium-agent"


def test_get_pods_table(kubectl):
    lines = kubectl("-n", "kube-system", "get", "pods", "-o", "wide").stdout.splitlines()
    assert lines[0].split()[:5] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert sum("Running" in line and "1/1" in line for line in lines[1:]) == 6


def test_errors_read_like_a_real_server(kubectl):
    missing = kubectl("-n", "kube-system", "get", "cm", "nope", check=False)
    assert missing.returncode == 1
    assert missing.stderr.strip() == 'Error from server (NotFound): configmaps "nope" not found'
    denied = kubectl("-n", "kube-system", "delete", "cm", "cilium-config", context="readonly", check=False)
    assert (
        "Error from server (Forbidden)" in denied.stderr and 'User "readonly" cannot delete' in denied.stderr
    )


def test_exec_runs_in_the_agent_pod(kubectl):
    pod = kubectl(
        "-n", "kube-system", "get", "pods", "-l", "k8s-app=cilium", "-o", "jsonpath={.items[0].metadata.name}"
    ).stdout
    unknown = kubectl("-n", "kube-system", "exec", pod, "--", "no-such-tool", check=False)
    assert unknown.returncode == 127
    assert "no-such-tool" in unknown.stderr and "not found" in unknown.stderr
    status = kubectl(
        "-n", "kube-system", "exec", pod, "-c", "cilium-agent", "--", "cilium", "status", check=False
    )
    if "cilium: not found" not in status.stderr:  # once the shell emulation knows `cilium`
        assert status.returncode == 0 and "KubeProxyReplacement" in status.stdout


def test_patch_then_rollout_restart_and_status(kubectl, cluster):
    kubectl(
        "-n",
        "kube-system",
        "patch",
        "cm",
        "cilium-config",
        "--type",
        "merge",
        "-p",
        '{"data":{"enable-hubble":"false"}}',
    )
    old = set(kubectl("-n", "kube-system", "get", "pods", "-o", "name").stdout.split())
    kubectl("-n", "kube-system", "rollout", "restart", "ds/cilium")
    done = kubectl("-n", "kube-system", "rollout", "status", "ds/cilium", "--timeout=30s")
    assert 'daemon set "cilium" successfully rolled out' in done.stdout
    new = set(kubectl("-n", "kube-system", "get", "pods", "-o", "name").stdout.split())
    assert len(new) == 6 and not old & new
    configs = cluster.backend.boot_configs.values()
    assert len(configs) == 6 and all(c["enable-hubble"] == "false" for c in configs)


def test_logs_of_an_agent(kubectl):
    out = kubectl("-n", "kube-system", "logs", "ds/cilium").stdout
    assert out.strip() and all(line.startswith("level=") for line in out.splitlines())


def test_apply_and_create_from_a_file_validate_on_the_server(kubectl, tmp_path):
    manifest = tmp_path / "cm.yaml"
    manifest.write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: applied, namespace: default}\ndata: {a: '1'}\n"
    )
    assert "configmap/applied created" in kubectl("apply", "-f", str(manifest)).stdout
    manifest.write_text(manifest.read_text().replace("'1'", "'2'"))
    assert "configmap/applied configured" in kubectl("apply", "-f", str(manifest)).stdout
    assert kubectl("get", "cm", "applied", "-o", "jsonpath={.data.a}").stdout == "2"
    again = kubectl("create", "-f", str(manifest), check=False)
    assert "Error from server (AlreadyExists)" in again.stderr
