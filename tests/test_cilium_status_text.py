"""The text status parser: tolerance of real-world capture noise, partial input, and refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from cilium_lab.cilium import parse_status
from cilium_lab.errors import StatusParseError

FIXTURES = Path(__file__).parent / "fixtures" / "status"
TUNED = (FIXTURES / "v1.18.2-tuned-verbose-constructed.txt").read_text()


def _summary(text: str) -> tuple[object, ...]:
    status = parse_status(text)
    return (
        status.version,
        status.kpr_full,
        status.routing_network,
        status.host_routing,
        status.congestion_control,
        status.xdp_acceleration,
        status.dsr_dispatch,
        status.maps,
        status.big_tcp_sizes,
    )


def test_windows_line_endings_ansi_colours_and_kubectl_preamble_change_nothing() -> None:
    noisy = 'Defaulted container "cilium-agent" out of: cilium-agent, mount-cgroup (init)\r\n'
    noisy += (
        TUNED.replace("\n", "\r\n").replace("Ok", "\x1b[32mOk\x1b[0m").replace("True", "\x1b[1mTrue\x1b[0m")
    )
    assert _summary(noisy) == _summary(TUNED)
    assert not any("Defaulted" in line for line in parse_status(noisy).lines)


def test_text_pasted_with_common_indentation_and_blank_margins() -> None:
    indented = "\n\n" + "".join(f"    {line}\n" for line in TUNED.splitlines()) + "\n  \n"
    assert _summary(indented) == _summary(TUNED)


def test_tabs_instead_of_padding() -> None:
    tabbed = "Routing:\tNetwork: Native\tHost: BPF\nMasquerading:\tBPF\t[eth0]\t10.0.0.0/8 [IPv4: Enabled]\n"
    status = parse_status(tabbed)
    assert (status.routing_network, status.host_routing, status.masquerading) == ("Native", "BPF", "BPF")
    assert status.masquerading_devices == ("eth0",)


def test_partial_input_gives_only_what_is_there() -> None:
    status = parse_status("BandwidthManager:   EDT with BPF [CUBIC] [eth0, eth1]")
    assert status.bandwidth_manager is True
    assert status.congestion_control == "CUBIC"
    assert status.bandwidth_devices == ("eth0", "eth1")
    assert status.version is None and status.host_routing is None and status.kpr_full is None


def test_unknown_lines_are_kept_but_do_not_set_attributes() -> None:
    status = parse_status(
        "Cilium:   Ok   1.16.0 (v1.16.0-82999990)\nFuture Feature:   Turbo   [x]\nstray words\n"
    )
    assert status.fields["Future Feature"] == "Turbo [x]"
    assert "stray words" in status.lines
    assert status.version == "1.16.0"


def test_value_split_only_on_first_colon() -> None:
    status = parse_status("Routing:                 Network: Tunnel [geneve]   Host: BPF")
    assert status.fields["Routing"] == "Network: Tunnel [geneve] Host: BPF"
    assert (status.routing_network, status.tunnel_protocol, status.host_routing) == (
        "Tunnel",
        "geneve",
        "BPF",
    )


def test_big_tcp_with_distinct_gro_and_gso() -> None:
    status = parse_status("IPv4 BIG TCP:   Enabled   [131072, 196608]\nIPv6 BIG TCP:   Enabled")
    assert status.big_tcp_sizes == {"ipv4": (131072, 196608)}
    assert (status.ipv4_big_tcp, status.ipv6_big_tcp) == (True, True)


def test_top_level_lines_win_over_verbose_details() -> None:
    text = (
        "KubeProxyReplacement:   True   [eth0 10.0.0.1]\nKubeProxyReplacement Details:\n  Status:   False\n"
    )
    assert parse_status(text).kube_proxy_replacement == "True"


def test_details_status_used_when_top_level_kpr_line_missing() -> None:
    text = "KubeProxyReplacement Details:\n  Status:   Disabled\n  Mode:   SNAT\n"
    status = parse_status(text)
    assert (status.kube_proxy_replacement, status.kpr_full, status.nodeport_mode) == (
        "Disabled",
        False,
        "SNAT",
    )


def test_indented_lines_of_other_blocks_are_not_read_as_details() -> None:
    text = "Cluster health:   1/1 reachable\n  Mode:   DSR\n  XDP Acceleration:   Native\n"
    status = parse_status(text)
    assert status.nodeport_mode is None and status.xdp_acceleration is None


def test_failure_state_without_version() -> None:
    status = parse_status("Cilium:   Failure   daemon is not ready")
    assert (status.cilium_state, status.version) == ("Failure", None)


def test_status_is_frozen_and_hashable() -> None:
    status = parse_status(TUNED)
    with pytest.raises(AttributeError):
        status.version = "1.0.0"  # type: ignore[misc]
    assert hash(status) == hash(parse_status(TUNED))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n\t\n",
        "sh: cilium-dbg: not found",
        'OCI runtime exec failed: exec failed: unable to start container process: exec: "cilium-dbg"',
        "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
        'error: unable to upgrade connection: container not found ("cilium-agent")',
        "The quick brown fox jumps over the lazy dog.",
        'Defaulted container "cilium-agent" out of: cilium-agent\n',
    ],
)
def test_non_status_text_is_refused_with_one_line(text: str) -> None:
    with pytest.raises(StatusParseError) as err:
        parse_status(text)
    assert "\n" not in str(err.value)
    assert "cilium-dbg status" in str(err.value)


def test_non_string_input_is_refused() -> None:
    with pytest.raises(StatusParseError, match="must be text"):
        parse_status(b"Cilium: Ok 1.13.4")  # type: ignore[arg-type]


def test_a_byte_order_mark_does_not_hide_the_first_line():
    status = parse_status(
        "\ufeffKubeProxyReplacement:   True   [eth0 10.0.0.4 (Direct Routing)]\n"
        "Cilium:                 Ok   1.16.5 (v1.16.5-b7b9a3d2)\n"
    )
    assert status.kube_proxy_replacement == "True" and status.version == "1.16.5"


def test_cilium_clis_cluster_summary_is_refused_with_what_to_run_instead():
    # the shape of cilium-cli's `cilium status` on a workstation: workloads, not the agent's datapath
    summary = (
        " /¯¯\\__/¯¯\\    Cilium:             OK\n"
        " \\__/¯¯\\__/    Operator:           OK\n\n"
        "DaemonSet              cilium             Desired: 3, Ready: 3/3, Available: 3/3\n"
        "Deployment             cilium-operator    Desired: 1, Ready: 1/1, Available: 1/1\n"
    )
    with pytest.raises(StatusParseError, match=r"cilium-cli's cluster summary .* cilium-dbg status"):
        parse_status(summary)
