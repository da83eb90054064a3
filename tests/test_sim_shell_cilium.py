"""The in-agent Cilium CLI in emulated agent pods: binary name per version, status forms, errors."""

from __future__ import annotations

import json
from dataclasses import replace

from test_sim_shell_helpers import context

from cilium_lab.cilium.parse import parse_status
from cilium_lab.sim.agent.runtime import Boot
from cilium_lab.sim.shell import dispatch

NEW = {"kube-proxy-replacement": "false"}


def test_113_has_cilium_not_cilium_dbg():
    ctx = context()
    r = dispatch.run(ctx, ["cilium", "status"])
    assert r.code == 0 and "Cilium:                  Ok   1.13.4 (v1.13.4-4061cdfc)" in r.stdout
    assert dispatch.run(ctx, ["cilium-dbg", "status"]).code == 127


def test_115_renamed_the_binary():
    ctx = context(version="1.15.1", config=NEW)
    assert dispatch.run(ctx, ["cilium-dbg", "status"]).code == 0
    r = dispatch.run(ctx, ["cilium", "status"])
    assert (r.code, r.stderr) == (127, "sh: 1: cilium: not found\n")


def test_status_verbose_json_yaml_brief():
    ctx = context()
    assert "KubeProxyReplacement Details:" in dispatch.run(ctx, ["cilium", "status", "--verbose"]).stdout
    doc = json.loads(dispatch.run(ctx, ["cilium", "status", "-o", "json"]).stdout)
    assert doc["host-routing"]["mode"] == "Legacy"
    assert "hostrouting:" in dispatch.run(ctx, ["cilium", "status", "-o", "yaml"]).stdout
    assert dispatch.run(ctx, ["cilium", "status", "--brief"]).stdout == "OK\n"


def test_status_parsed_by_the_project_parser_through_the_shell():
    config = {
        "routing-mode": "native",
        "ipv4-native-routing-cidr": "10.42.0.0/16",
        "kube-proxy-replacement": "true",
    }
    ctx = context(version="1.18.6", config={**config, "enable-bpf-masquerade": "true"})
    status = parse_status(dispatch.run(ctx, ["cilium-dbg", "status", "--verbose"]).stdout)
    assert (status.version, status.routing_network, status.host_routing) == ("1.18.6", "Native", "BPF")
    assert status.attach_mode == "Legacy TC"  # kernel 6.2 has no TCX


def test_status_uses_the_virtual_clock_and_the_cluster_facts_of_the_context():
    ctx = replace(context(), cluster_nodes=6, kubernetes_version="v1.27.3")
    out = dispatch.run(ctx, ["cilium", "status"]).stdout
    assert "Cluster health:          6/6 reachable   (2023-07-10T08:15:22Z)" in out
    assert "Kubernetes:              Ok   1.27 (v1.27.3) [linux/amd64]" in out


def test_status_without_a_running_agent():
    ctx = replace(context(), boot=Boot(ok=False, datapath=None, error="boom"))
    r = dispatch.run(ctx, ["cilium", "status"])
    assert r.code == 1 and "Is the agent running?" in r.stderr


def test_cobra_style_errors():
    ctx = context()
    r = dispatch.run(ctx, ["cilium", "status", "--frobnicate"])
    assert r.code == 1 and r.stderr.startswith("Error: unknown flag: --frobnicate")
    r = dispatch.run(ctx, ["cilium", "frob"])
    assert r.code == 1 and r.stderr.startswith('Error: unknown command "frob" for "cilium"')


def test_version_subcommand():
    assert dispatch.run(context(), ["cilium", "version"]).stdout.startswith("Client: 1.13.4 4061cdfc")
