"""The commands behind each step: derived per Cilium version from the catalogue and the plan, never
written per lab (issue 16 point 3)."""

from __future__ import annotations

import pytest

from cilium_lab import catalog
from cilium_lab.change.config import planning
from cilium_lab.cilium import commands as cli
from cilium_lab.cluster import snapshot
from cilium_lab.session import commands


@pytest.mark.parametrize(
    ("version", "binary"),
    [("1.13.4", "cilium"), ("1.14.9", "cilium"), ("1.15.0", "cilium-dbg"), ("1.18.2", "cilium-dbg")],
)
def test_the_agent_cli_is_named_per_version(version, binary):
    assert cli.agent_cli(version) == binary
    assert cli.in_agent(version, "status").endswith(f"-- {binary} status")


def test_the_host_routing_line_and_the_routing_key_follow_the_version():
    assert cli.status_line("host_routing", "1.15.3") == "Host Routing"
    assert cli.status_line("host_routing", "1.16.0") == "Routing"  # PR #32036
    assert cli.config_key("routing", "1.13.4") == "tunnel"
    assert cli.config_key("routing", "1.14.0") == "routing-mode"


def test_lab_06s_verification_is_the_articles_cilium_status_grep(conn):
    snap = snapshot.take(conn)
    assert commands.verification(catalog.get("bpf-host-routing"), snap) == [
        'kubectl -n kube-system exec ds/cilium -c cilium-agent -- cilium status --verbose | grep "Host Routing"'
    ]


@pytest.fixture(scope="module")
def snap():
    from cilium_lab.cluster import discover, rollout
    from cilium_lab.cluster.connect import connect
    from cilium_lab.sim.cluster import EmbeddedCluster

    with EmbeddedCluster(profile="seed-mixed") as embedded:
        conn = connect(str(embedded.kubeconfig))
        rollout.wait(conn, discover.find(conn), timeout=20)
        yield snapshot.take(conn)


@pytest.mark.parametrize("item", [i for i in catalog.TUNINGS if i.verify], ids=lambda i: i.lab)
def test_every_check_of_the_catalogue_has_a_command(item, snap):
    found = commands.verification(item, snap)
    looks = [look for check in item.verify for look in check.looks]
    assert found and all(line.startswith("kubectl ") for line in found)
    for look in looks:
        if look.where == "status":
            assert any(
                f'grep "{cli.status_line(look.line or look.name, snap.cilium_version)}"' in line
                for line in found
            )
        if look.where == "config":
            assert any(cli.config_key(look.name, snap.cilium_version) in line for line in found)


def test_a_change_shows_its_kubectl_helm_and_cilium_cli_forms(snap):
    planned = planning.plan(snap, "kube-proxy-replacement")
    lines = commands.change(planned)
    assert lines[0].startswith("kubectl -n kube-system patch configmap cilium-config --type merge -p")
    assert '"kube-proxy-replacement": "strict"' in lines[0]
    assert "kubectl -n kube-system rollout restart ds/cilium" in lines
    assert f"# or with Helm: {planned.helm_command}" in lines
    assert any(line.startswith("# or with cilium-cli: cilium config set") for line in lines)
