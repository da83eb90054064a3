"""The README's Access section: the benchmark namespace enforces Pod Security `privileged` because the
host-to-host scenario's pods use the host network, and "the other scenarios' pods meet `baseline`". The
pods each scenario creates (bench.pods.pod_specs through workloads.pod_manifest, the body create_pod
sends) are checked against the controls of the baseline profile, as Kubernetes lists them:
https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline"""

from __future__ import annotations

from typing import Any

import pytest

from cilium_lab.bench import pods, scenarios
from cilium_lab.cluster import workloads

# baseline: "Adding additional capabilities beyond those listed below must be disallowed"
ALLOWED_CAPABILITIES = {
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
    "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
}  # fmt: skip
SAFE_SYSCTLS = {
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
}  # fmt: skip
SELINUX_TYPES = {None, "", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"}


def baseline_violations(pod: dict[str, Any]) -> list[str]:
    """What in a Pod object the baseline Pod Security profile forbids (empty: the pod meets it)."""
    spec = pod["spec"]
    found = [f"spec.{field}" for field in ("hostNetwork", "hostPID", "hostIPC") if spec.get(field)]
    found += [f"volume {v['name']} is a hostPath" for v in spec.get("volumes", []) if "hostPath" in v]
    pod_security = spec.get("securityContext") or {}
    found += [f"sysctl {s['name']}" for s in pod_security.get("sysctls", []) if s["name"] not in SAFE_SYSCTLS]
    contexts = [("pod", pod_security)]
    for container in spec.get("containers", []) + spec.get("initContainers", []):
        security = container.get("securityContext") or {}
        contexts.append((container["name"], security))
        if security.get("privileged"):
            found.append(f"{container['name']} is privileged")
        if security.get("windowsOptions", {}).get("hostProcess"):
            found.append(f"{container['name']} is a HostProcess")
        added = set((security.get("capabilities") or {}).get("add", [])) - ALLOWED_CAPABILITIES
        found += [f"{container['name']} adds {c}" for c in sorted(added)]
        found += [
            f"{container['name']} host port {p['hostPort']}"
            for p in container.get("ports", [])
            if p.get("hostPort")
        ]
        if security.get("procMount", "Default") != "Default":
            found.append(f"{container['name']} procMount {security['procMount']}")
    for who, security in contexts:
        if (security.get("seccompProfile") or {}).get("type") == "Unconfined":
            found.append(f"{who} seccomp Unconfined")
        if (security.get("appArmorProfile") or {}).get("type") == "Unconfined":
            found.append(f"{who} AppArmor Unconfined")
        selinux = security.get("seLinuxOptions") or {}
        if selinux.get("type") not in SELINUX_TYPES or selinux.get("user") or selinux.get("role"):
            found.append(f"{who} SELinux options {selinux}")
    return found


def _pods_of(scenario: scenarios.Scenario) -> list[dict[str, Any]]:
    specs = pods.pod_specs(
        "abc12", scenarios.roles_needed([scenario]), client_node="vm-1", server_node="vm-2",
        image=pods.DEFAULT_IMAGE, ports=pods.service_ports(4),
    )  # fmt: skip
    return [workloads.pod_manifest(spec, "run-1") for spec in specs]


@pytest.mark.parametrize("name", sorted(scenarios.SCENARIOS))
def test_only_the_host_to_host_pods_go_beyond_baseline(name):
    made = _pods_of(scenarios.SCENARIOS[name])
    assert len(made) == 2  # a client and a server
    for pod in made:
        if name == "host-to-host":
            assert baseline_violations(pod) == ["spec.hostNetwork"], pod["metadata"]["name"]
        else:
            assert baseline_violations(pod) == [], pod["metadata"]["name"]


def test_the_check_finds_each_kind_of_violation():
    pod = _pods_of(scenarios.SCENARIOS["pod-to-pod"])[0]
    container = pod["spec"]["containers"][0]
    container["securityContext"] = {"privileged": True, "capabilities": {"add": ["NET_ADMIN", "CHOWN"]}}
    container["ports"] = [{"containerPort": 12865, "hostPort": 12865}]
    pod["spec"].update(hostPID=True, volumes=[{"name": "root", "hostPath": {"path": "/"}}])
    pod["spec"]["securityContext"] = {
        "seccompProfile": {"type": "Unconfined"},
        "sysctls": [{"name": "net.core.somaxconn", "value": "1"}],
    }
    assert baseline_violations(pod) == [
        "spec.hostPID",
        "volume root is a hostPath",
        "sysctl net.core.somaxconn",
        "netperf is privileged",
        "netperf adds NET_ADMIN",
        "netperf host port 12865",
        "pod seccomp Unconfined",
    ]
