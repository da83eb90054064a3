"""kubectl (the real binary) against the embedded cluster: auth can-i, get all, events and describe."""

from __future__ import annotations

import shutil
import time

import pytest

from cilium_lab.sim.cluster import EmbeddedCluster

pytestmark = [
    pytest.mark.kubectl,
    pytest.mark.skipif(shutil.which("kubectl") is None, reason="needs the kubectl binary"),
]


@pytest.fixture(scope="module")
def cluster():
    with EmbeddedCluster("seed-mixed", seed=13) as c:
        yield c


def test_can_i_exec_answers_per_user(kubectl):
    admin = kubectl("auth", "can-i", "create", "pods/exec", "-n", "kube-system", check=False)
    assert (admin.returncode, admin.stdout.strip()) == (0, "yes")
    readonly = kubectl(
        "auth", "can-i", "create", "pods/exec", "-n", "kube-system", context="readonly", check=False
    )
    assert (readonly.returncode, readonly.stdout.strip()) == (1, "no")
    reads = kubectl("auth", "can-i", "list", "pods", "-n", "kube-system", context="readonly", check=False)
    assert (reads.returncode, reads.stdout.strip()) == (0, "yes")
    assert kubectl("auth", "can-i", "get", "/healthz", context="readonly").stdout.strip() == "yes"


def test_can_i_list_shows_the_rules_of_each_user(kubectl):
    def rows(context: str) -> list[list[str]]:
        out = kubectl("auth", "can-i", "--list", "-n", "kube-system", context=context).stdout
        lines = out.splitlines()
        assert lines[0].split() == ["Resources", "Non-Resource", "URLs", "Resource", "Names", "Verbs"]
        return [line.split() for line in lines[1:]]

    readonly = rows("readonly")
    assert ["pods", "[]", "[]", "[list]"] in readonly  # deploy/rbac.yaml's cilium-lab-inspect
    assert ["daemonsets.apps", "[]", "[cilium]", "[get]"] in readonly
    assert ["selfsubjectaccessreviews.authorization.k8s.io", "[]", "[]", "[create]"] in readonly
    assert ["[/api]", "[]", "[get]"] in readonly  # system:discovery, as every authenticated user has
    admin = rows("admin")
    assert ["*.*", "[]", "[]", "[*]"] in admin and ["[*]", "[]", "[*]"] in admin


def test_get_all_lists_pods_services_and_the_daemonset(kubectl):
    out = kubectl("get", "all", "-A").stdout
    names = {
        line.split()[1] for line in out.splitlines() if line.strip() and not line.startswith("NAMESPACE")
    }
    assert "daemonset.apps/cilium" in names and "service/kubernetes" in names
    assert sum(n.startswith("pod/cilium-") for n in names) == 6
    in_namespace = kubectl("get", "all", "-n", "kube-system").stdout
    assert "daemonset.apps/cilium" in in_namespace and "pod/cilium-" in in_namespace


def test_deleted_agent_pod_is_replaced_and_the_events_say_so(kubectl):
    old = kubectl("-n", "kube-system", "get", "pods", "-o", "name").stdout.split()
    kubectl("-n", "kube-system", "delete", old[0])
    kubectl("-n", "kube-system", "rollout", "status", "ds/cilium", "--timeout=30s")
    deadline = time.monotonic() + 10
    while (
        len(new := set(kubectl("-n", "kube-system", "get", "pods", "-o", "name").stdout.split()) - set(old))
        != 1
    ):
        assert time.monotonic() < deadline, "no replacement pod"
        time.sleep(0.1)
    replacement = new.pop().removeprefix("pod/")
    lines = kubectl("get", "events", "-n", "kube-system").stdout.splitlines()
    assert lines[0].split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    created = [line.split() for line in lines if "SuccessfulCreate" in line and replacement in line]
    assert len(created) == 1
    assert created[0][1:] == [
        "Normal",
        "SuccessfulCreate",
        "daemonset/cilium",
        "Created",
        "pod:",
        replacement,
    ]
    started = kubectl("get", "ev", "-A", "--field-selector", f"involvedObject.name={replacement}").stdout
    assert "Started container cilium-agent" in started


def test_describe_pod_shows_its_events(kubectl):
    pod = kubectl("-n", "kube-system", "get", "pods", "-o", "jsonpath={.items[0].metadata.name}").stdout
    out = kubectl("-n", "kube-system", "describe", "pod", pod).stdout
    events = out.split("Events:")[1].splitlines()
    assert events[1].split() == ["Type", "Reason", "Age", "From", "Message"]
    reasons = [line.split()[1] for line in events[3:] if line.strip()]
    assert reasons == ["Scheduled", "Pulled", "Created", "Started"]
    assert "kubelet" in out.split("Events:")[1] and "default-scheduler" in out.split("Events:")[1]
