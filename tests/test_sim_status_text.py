"""`cilium-dbg status` text of the emulated agents: per-version lines, Go tabwriter alignment, and
the project's own parser reading it back (the parser is tested against this output)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from kubernetes import client
from kubernetes import config as kube_config
from kubernetes.stream import stream
from waiting import wait_for

from cilium_lab.cilium.parse import parse_status
from cilium_lab.sim.agent import startup, status_output
from cilium_lab.sim.agent.go_tabwriter import align
from cilium_lab.sim.state import profiles

SEED = profiles.load("seed-mixed")
VM = SEED.nodes[0]
TUNED = {
    "routing-mode": "native",
    "ipv4-native-routing-cidr": "10.42.0.0/16",
    "kube-proxy-replacement": "true",
    "enable-bpf-masquerade": "true",
    "enable-bandwidth-manager": "true",
    "enable-bbr": "true",
}


def render(version: str, changes: dict[str, str], node=VM, **kw) -> str:
    config = {**SEED.cilium_config, **changes}
    if not version.startswith(("1.10", "1.13")) and changes.get("tunnel") is None:
        del config["tunnel"]  # the 1.14+ chart renders routing-mode instead
    b = startup.boot(version, config, node)
    assert b.ok, b.error
    return status_output.render_text(b.datapath, node, version, config, **kw)


def labels(text: str) -> list[str]:
    return [line.split(":")[0] for line in text.splitlines() if line and not line.startswith(" ")]


def test_tabwriter_matches_go_column_blocks():
    text = "KVStore:\tOk\tDisabled\nCilium:\tOk   1.13.4\nGlobal Identity Range:\tmin 256\nheading\nab:\tx\n"
    assert align(text).splitlines() == [
        "KVStore:                 Ok   Disabled",
        "Cilium:                  Ok   1.13.4",
        "Global Identity Range:   min 256",
        "heading",
        "ab:   x",
    ]


def test_113_default_install_lines():
    text = render("1.13.4", {}, cluster_nodes=6)
    lines = text.splitlines()
    assert "KubeProxyReplacement:    Disabled   " in lines
    assert "Cilium:                  Ok   1.13.4 (v1.13.4-4061cdfc)" in lines
    assert "Host Routing:            Legacy" in lines
    assert "Masquerading:            IPTables [IPv4: Enabled, IPv6: Disabled]" in lines
    assert "IPv6 BIG TCP:            Disabled" in lines
    assert not any(line.startswith(("IPv4 BIG TCP", "Routing:", "SRv6", "Modules Health")) for line in lines)
    assert lines[-1].startswith("Cluster health:          6/6 reachable   (")


def test_113_line_order_follows_format_status_response():
    order = labels(render("1.13.4", {"tunnel": "disabled", **TUNED, "kube-proxy-replacement": "strict"}))
    assert order == [
        "KVStore", "Kubernetes", "Kubernetes APIs", "KubeProxyReplacement", "Host firewall", "CNI Chaining", "CNI Config file",
        "Cilium",
        "NodeMonitor", "Cilium health daemon", "IPAM", "IPv6 BIG TCP", "BandwidthManager", "Host Routing",
        "Masquerading", "Controller Status", "Proxy Status", "Global Identity Range", "Hubble", "Encryption",
        "Cluster health",
    ]  # fmt: skip


def test_116_routing_attach_and_device_mode_lines():
    text = render("1.16.5", TUNED)
    assert "Routing:                 Network: Native   Host: BPF" in text
    assert "BandwidthManager:        EDT with BPF [BBR] [enp1s0]" in text
    assert "Attach Mode:             Legacy TC" in text  # kernel 6.2 has no TCX
    assert "Device Mode:             veth" in text
    assert "Masquerading:            BPF   [enp1s0]   10.42.0.0/16 [IPv4: Enabled, IPv6: Disabled]" in text
    # one empty address entry per address before the addresses (1.15+), hence two spaces (#30910)
    assert "KubeProxyReplacement:    True   [enp1s0  192.168.7.11 (Direct Routing)]" in text
    assert "Host Routing" not in text and "Modules Health:" in text


def test_116_tunnel_routing_line():
    text = render("1.16.5", {"kube-proxy-replacement": "false"})
    assert "Routing:                 Network: Tunnel [vxlan]   Host: Legacy" in text


def test_114_big_tcp_sizes_and_kpr_details_block():
    node = replace(
        VM,
        kernel="6.8.0-49-generic",
        nic=replace(VM.nic, name="eth0", driver="mlx5_core", big_tcp=True),
        internal_ip="10.242.0.4",
    )
    text = render(
        "1.14.1",
        {**TUNED, "kube-proxy-replacement": "strict", "enable-ipv4-big-tcp": "true"},
        node,
        verbose=True,
    )
    assert "IPv4 BIG TCP:           Enabled   [196608]" in text
    # the 1.14/1.15 KPR details block of cilium/cilium#29132, character for character, but for the
    # "Socket LB Tracing" line that the real 1.13.4 --verbose output (tests/fixtures/status_lines) and
    # FormatStatusResponse of the 1.14 era print and that thread does not show
    expected = """KubeProxyReplacement Details:
  Status:                 Strict
  Socket LB:              Enabled
  Socket LB Tracing:      Enabled
  Socket LB Coverage:     Full
  Devices:                eth0 10.242.0.4 (Direct Routing)
  Mode:                   SNAT
  Backend Selection:      Random
  Session Affinity:       Enabled
  Graceful Termination:   Enabled
  NAT46/64 Support:       Disabled
  XDP Acceleration:       Disabled
  Services:
  - ClusterIP:      Enabled
  - NodePort:       Enabled (Range: 30000-32767) """
    assert expected in text


def test_verbose_adds_clock_maps_and_dsr_dispatch():
    text = render("1.15.1", {**TUNED, "bpf-lb-mode": "dsr", "enable-bpf-clock-probe": "true"}, verbose=True)
    assert "Clock Source for BPF:   jiffies   [250 Hz]" in text
    assert "BPF Maps:   dynamic sizing: on (ratio: 0.002500)" in text
    assert "    DSR Dispatch Mode:    IP Option/Extension" in text
    assert "Allocated addresses:" in text
    plain = render("1.15.1", TUNED)
    assert (
        "BPF Maps" not in plain
        and "Clock Source" not in plain
        and "KubeProxyReplacement Details" not in plain
    )


def test_hubble_disabled_line():
    assert "Hubble:                  Disabled" in render("1.13.4", {"enable-hubble": "false"})


@pytest.mark.parametrize("version", ["1.10.20", "1.13.4", "1.14.1", "1.15.1", "1.16.5", "1.18.6"])
def test_project_parser_reads_the_rendered_text(version):
    changes = {**TUNED, "tunnel": "disabled"} if version < "1.14" else dict(TUNED)
    if version < "1.14":
        changes["kube-proxy-replacement"] = "strict"
    text = render(version, changes, verbose=True)
    status = parse_status(text)
    assert status.version == version
    assert status.kpr_full is True
    assert status.host_routing == "BPF"
    assert status.masquerading == "BPF"
    assert status.bandwidth_manager is True
    assert status.congestion_control == ("CUBIC" if version.startswith("1.10") else "BBR")  # BBR from 1.12
    assert status.hubble == "Ok"
    assert status.nodeport_mode == "SNAT"
    assert status.maps.get("TCP connection tracking") == 131072  # 8 GiB x 0.0025 / 285 B is below the floor
    if version >= "1.16":
        assert (status.routing_network, status.device_mode) == ("Native", "veth")


def test_project_parser_reads_the_default_113_text():
    status = parse_status(render("1.13.4", {}))
    assert (status.kube_proxy_replacement, status.kpr_full) == ("Disabled", False)
    assert (status.host_routing, status.masquerading, status.ipv6_big_tcp) == ("Legacy", "IPTables", False)


def test_verbose_status_through_kubectl_exec_lists_every_node_of_the_cluster(embedded):
    """The shell passes the cluster's nodes to the renderer: `cilium status --verbose` in a 1.13 agent pod
    lists all six nodes of the series' cluster under "Cluster health:", this one first as (localhost)."""
    api = kube_config.new_client_from_config(config_file=str(embedded.kubeconfig), context="admin")
    core = client.CoreV1Api(api)
    pod = wait_for(
        lambda: next(
            (p for p in core.list_namespaced_pod("kube-system", field_selector="spec.nodeName=vm-2").items
             if p.status.phase == "Running" and p.metadata.labels.get("k8s-app") == "cilium"),
            None,
        )
    )  # fmt: skip
    ws = stream(
        core.connect_get_namespaced_pod_exec, pod.metadata.name, "kube-system",
        command=["cilium", "status", "--verbose"], container="cilium-agent",
        stdout=True, stderr=True, stdin=False, tty=False, _preload_content=False,
    )  # fmt: skip
    ws.run_forever(timeout=10)
    lines = ws.read_stdout().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Cluster health:"))
    assert lines[start].split()[2] == "6/6"
    table = lines[start + 1 :]
    assert table[0].split() == ["Name", "IP", "Node", "Endpoints"]
    names = [row.split()[0] for row in table[1:]]
    assert names == ["vm-2", "board-1", "board-2", "board-3", "vm-1", "vm-3"]
    assert table[1].split()[1] == "(localhost)"
    # the node names share the tabwriter with the lines above: one label column for all of them
    assert lines[start].index("6/6") == table[1].index("192.168.") == table[-1].index("192.168.")
