"""The embedded cluster's --state file: a series continues where it stopped."""

from __future__ import annotations

import pytest
import yaml
from kubernetes import client, config
from waiting import wait_for

from cilium_lab.errors import InputError
from cilium_lab.sim.cluster import EmbeddedCluster
from cilium_lab.sim.state.profiles import PROFILE_DIR


def core_of(cluster) -> client.CoreV1Api:
    return client.CoreV1Api(config.new_client_from_config(config_file=cluster.kubeconfig, context="admin"))


def running_agents(core) -> dict[str, str]:
    pods = core.list_namespaced_pod("kube-system", label_selector="k8s-app=cilium").items
    return {p.metadata.name: p.spec.node_name for p in pods if p.status.phase == "Running"}


def test_state_round_trip(tmp_path):
    state = tmp_path / "cluster.json"
    with EmbeddedCluster("seed-mixed", state_file=str(state)) as first:
        core = core_of(first)
        agents = wait_for(lambda: len(a := running_agents(core)) == 6 and a)
        core.patch_namespaced_config_map("cilium-config", "kube-system", {"data": {"enable-hubble": "false"}})
        first.faults.node_not_ready("board-1")
        first.advance(42.0)
        token = first.token("readonly")
    assert state.is_file()
    with EmbeddedCluster("seed-mixed", state_file=str(state)) as second:
        core = core_of(second)
        assert (
            core.read_namespaced_config_map("cilium-config", "kube-system").data["enable-hubble"] == "false"
        )
        assert running_agents(core) == agents
        assert second.faults.not_ready("board-1")
        assert second.backend.clock.now() == pytest.approx(42.0)
        assert second.token("readonly") == token
        pod = next(iter(agents))
        assert core.read_namespaced_pod_log(pod, "kube-system").strip()  # the agent's boot came back


def test_state_of_another_profile_is_refused(tmp_path):
    state = tmp_path / "cluster.json"
    with EmbeddedCluster("seed-mixed", state_file=str(state)):
        pass
    other = yaml.safe_load((PROFILE_DIR / "seed-mixed.yaml").read_text())
    other["name"] = "other"
    path = tmp_path / "other.yaml"
    path.write_text(yaml.safe_dump(other))
    with pytest.raises(InputError, match="belongs to profile 'seed-mixed'"):
        EmbeddedCluster(str(path), state_file=str(state)).start()


def test_a_file_that_is_not_a_state_is_refused(tmp_path):
    state = tmp_path / "cluster.json"
    state.write_text('{"format": 1, "profile": "seed-mixed"}')
    with pytest.raises(InputError, match="not a cilium-lab cluster state"):
        EmbeddedCluster("seed-mixed", state_file=str(state)).start()
    assert state.read_text() == '{"format": 1, "profile": "seed-mixed"}'  # left untouched
