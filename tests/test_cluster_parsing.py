"""The pure parts of cluster/: image tags, `ip`/`ethtool` output, node-config selection, rollout progress."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from cilium_lab.cluster import discover, nodeconfig, rollout, snapshot
from cilium_lab.errors import ClusterError


@pytest.mark.parametrize(
    ("image", "version"),
    [
        ("quay.io/cilium/cilium:v1.13.4", "1.13.4"),
        (
            "quay.io/cilium/cilium:v1.13.4@sha256:bde8800d61aaad8b8451b10e247ac7bdeb7af187bb698f83d40ad75a38c1ee6b",
            "1.13.4",
        ),
        ("registry:5000/cilium/cilium:v1.16.0-rc.1", "1.16.0-rc.1"),
        ("cilium:1.15.2", "1.15.2"),
    ],
)
def test_version_from_image_tag(image, version):
    assert discover.version_from_image(image) == version


@pytest.mark.parametrize("image", ["quay.io/cilium/cilium@sha256:abcdef", "quay.io/cilium/cilium:latest", ""])
def test_image_without_version_is_a_clear_error(image):
    with pytest.raises(ClusterError, match=r"no vX\.Y\.Z tag"):
        discover.version_from_image(image)


def test_status_command_by_version():
    def install(version):
        return discover.CiliumInstall("kube-system", "cilium", "cilium-config", version, "", {}, False)

    assert install("1.14.9").status_command == ("cilium", "status", "--verbose")
    assert install("1.15.0").status_command == ("cilium-dbg", "status", "--verbose")


def test_default_route_and_link_parsing():
    assert (
        snapshot.parse_default_route(
            "default via 192.168.7.1 dev enp1s0 proto dhcp src 192.168.7.11 metric 100"
        )
        == "enp1s0"
    )
    assert snapshot.parse_default_route("") is None
    link = "2: enp1s0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc fq_codel state UP\n    link/ether 52:54:00:7a:01:11 promiscuity 0 minmtu 68 maxmtu 65535"
    assert snapshot.parse_link(link) == (1500, 65535)
    assert snapshot.parse_link("garbage") == (None, None)
    assert snapshot.parse_driver("driver: virtio_net\nversion: 1.0.0\n") == "virtio_net"


def test_effective_config_applies_matching_node_configs_in_name_order():
    base = {"tunnel": "vxlan", "mtu": "1500"}
    cncs = [
        {
            "metadata": {"name": "b"},
            "spec": {"nodeSelector": {"matchLabels": {"pool": "x"}}, "defaults": {"mtu": "9000"}},
        },
        {
            "metadata": {"name": "a"},
            "spec": {"nodeSelector": {"matchLabels": {"pool": "x"}}, "defaults": {"mtu": "4000"}},
        },
        {
            "metadata": {"name": "c"},
            "spec": {"nodeSelector": {"matchLabels": {"pool": "y"}}, "defaults": {"tunnel": "disabled"}},
        },
    ]
    assert nodeconfig.effective(base, cncs, {"pool": "x"}) == {"tunnel": "vxlan", "mtu": "9000"}
    assert nodeconfig.effective(base, cncs, {}) == base


@pytest.mark.parametrize(
    ("expr", "labels", "selected"),
    [
        ({"key": "k", "operator": "In", "values": ["a"]}, {"k": "a"}, True),
        ({"key": "k", "operator": "In", "values": ["a"]}, {"k": "b"}, False),
        ({"key": "k", "operator": "NotIn", "values": ["a"]}, {"k": "a"}, False),
        ({"key": "k", "operator": "Exists"}, {}, False),
        ({"key": "k", "operator": "DoesNotExist"}, {}, True),
    ],
)
def test_match_expressions(expr, labels, selected):
    assert nodeconfig.selects({"matchExpressions": [expr]}, labels) is selected


@pytest.mark.parametrize(
    ("version", "api"), [("1.13.4", "v2alpha1"), ("1.15.9", "v2alpha1"), ("1.16.0", "v2"), ("1.18.1", "v2")]
)
def test_node_config_api_version(version, api):
    assert nodeconfig.api_version(version) == api
    assert (
        nodeconfig.manifest("n", "kube-system", version, {"a": "b"}, {})["apiVersion"] == f"cilium.io/{api}"
    )


def test_rollout_progress_needs_observed_generation_and_all_ready():
    ds = {
        "metadata": {"generation": 3},
        "status": {
            "observedGeneration": 3,
            "desiredNumberScheduled": 6,
            "updatedNumberScheduled": 6,
            "numberReady": 6,
        },
    }
    assert rollout._progress(ds)[0] is True
    ds["status"]["observedGeneration"] = 2
    assert rollout._progress(ds)[0] is False
    ds["status"].update(observedGeneration=3, numberUnavailable=1)
    assert rollout._progress(ds)[0] is False


def _rollout_with(monkeypatch, pods: dict[str, discover.AgentPod]) -> rollout.RolloutResult:
    """rollout.wait against a DaemonSet at generation 3, half rolled out, with these agent pods."""
    ds = {
        "metadata": {"generation": 3},
        "status": {
            "observedGeneration": 3,
            "desiredNumberScheduled": 2,
            "updatedNumberScheduled": 1,
            "numberReady": 1,
            "numberUnavailable": 1,
        },
    }
    monkeypatch.setattr(rollout.objects, "request", lambda *a, **k: ds)
    monkeypatch.setattr(rollout.discover, "agent_pods", lambda *a, **k: pods)
    install = discover.CiliumInstall("kube-system", "cilium", "cilium-config", "1.13.4", "img", {}, False)
    conn = SimpleNamespace(apps=SimpleNamespace(read_namespaced_daemon_set=None))  # reads go to `ds`
    return rollout.wait(conn, install, timeout=0)  # type: ignore[arg-type]


def test_an_old_pod_crash_looping_on_the_undone_config_is_not_the_new_rollouts_crash_loop(monkeypatch):
    old = discover.AgentPod("cilium-old", "vm-2", "Running", False, "CrashLoopBackOff", 4, "2")
    new = discover.AgentPod("cilium-new", "vm-1", "Running", True, "", 0, "3")
    result = _rollout_with(monkeypatch, {"vm-2": old, "vm-1": new})
    assert result.state == rollout.TIMEOUT and result.crash_looping == ()


def test_a_current_pod_crash_looping_ends_the_wait(monkeypatch):
    looping = discover.AgentPod("cilium-new", "vm-2", "Running", False, "CrashLoopBackOff", 2, "3")
    unlabelled = discover.AgentPod("cilium-x", "vm-3", "Running", False, "CrashLoopBackOff", 2, "")
    result = _rollout_with(monkeypatch, {"vm-2": looping, "vm-3": unlabelled})
    assert result.state == rollout.CRASH_LOOP and result.crash_looping == ("vm-2", "vm-3")
