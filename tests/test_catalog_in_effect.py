""" "Enabled" means in effect, not merely configured: where the agent's status has the line, it decides and
cilium-config is never consulted; the jumbo MTU is what the node runs (cilium_host), within what its
device can carry.

Status texts are constructed in the 1.13 format of reference cilium-tuning.md B.1 (BandwidthManager line
`EDT with BPF [BBR] [eth0]` / `Disabled`).
"""

import dataclasses

import pytest

from cilium_lab import catalog
from cilium_lab.catalog.series_fleet import DEBIAN_BOARD, UBUNTU_VM
from cilium_lab.cilium.parse import parse_status

STATUS_1_13 = """\
KubeProxyReplacement:    Strict   [enp1s0 192.168.7.11 (Direct Routing)]
Cilium:                  Ok   1.13.4 (v1.13.4-4061cdfc)
BandwidthManager:        {bwm}
Host Routing:            {host}
Masquerading:            BPF   [enp1s0]   10.42.0.0/16 [IPv4: Enabled, IPv6: Disabled]
"""
BBR_ASKED = {"enable-bandwidth-manager": "true", "enable-bbr": "true"}


def _node(base, bwm: str, host: str = "BPF", **config: str):
    status = parse_status(STATUS_1_13.format(bwm=bwm, host=host))
    return dataclasses.replace(base, status=status, config={**BBR_ASKED, **config})


def test_bbr_asked_for_but_bandwidth_manager_disabled_is_not_in_effect():
    board = _node(DEBIAN_BOARD, "Disabled", host="Legacy")
    seen = catalog.observe(catalog.get("bbr"), board, cilium_version="1.13.4")
    assert seen.enabled is False
    assert seen.evidence == ("BBR: congestion_control = none (bandwidth_manager = False) (agent status)",)
    readiness = catalog.evaluate("bbr", board)
    assert readiness.state == "blocked"  # the kernel, not "enabled" from cilium-config


def test_bbr_with_cubic_in_the_status_is_not_in_effect_whatever_the_config_says():
    vm = _node(UBUNTU_VM, "EDT with BPF [CUBIC] [enp1s0]")
    readiness = catalog.evaluate("bbr", vm)
    assert readiness.state == "can-enable"
    assert "BBR: congestion_control = CUBIC (agent status)" in readiness.reasons


def test_bbr_in_the_status_is_in_effect():
    vm = _node(UBUNTU_VM, "EDT with BPF [BBR] [enp1s0]")
    assert catalog.evaluate("bbr", vm).reasons == ("BBR: congestion_control = BBR (agent status)",)


def test_without_any_status_the_config_still_answers():
    vm = dataclasses.replace(UBUNTU_VM, status=None, config=BBR_ASKED)
    seen = catalog.observe(catalog.get("bbr"), vm)
    assert seen.enabled is True and seen.evidence == ("BBR: enable-bbr = true (cilium-config)",)


def test_bandwidth_manager_disabled_in_the_status_beats_the_config():
    board = _node(DEBIAN_BOARD, "Disabled", host="Legacy")
    seen = catalog.observe(catalog.get("bandwidth-manager"), board)
    assert seen.enabled is False
    assert seen.evidence == ("Bandwidth Manager: bandwidth_manager = False (agent status)",)


BOARD_DEVICE = {"device": "eth0", "mtu": 1500, "max_mtu": 1500}
VM_DEVICE = {"device": "enp1s0", "mtu": 1500, "max_mtu": 65535}


@pytest.mark.parametrize(
    ("base", "device", "pod_mtu", "config", "enabled", "evidence"),
    [
        # a board given mtu 9000: the agent runs it, but eth0 cannot carry it
        (
            DEBIAN_BOARD,
            BOARD_DEVICE,
            9000,
            {"mtu": "9000"},
            False,
            "jumbo MTU: pod_mtu = 9000, above the max_mtu 1500 eth0 carries (node facts)",
        ),
        # the agent was not read: the config alone, still capped by the device
        (
            DEBIAN_BOARD,
            BOARD_DEVICE,
            None,
            {"mtu": "9000"},
            False,
            "jumbo MTU: mtu = 9000, above the max_mtu 1500 eth0 carries (cilium-config)",
        ),
        # the node runs 1500 although the config asks for 9000 (agent not restarted yet): not in effect
        (UBUNTU_VM, VM_DEVICE, 1500, {"mtu": "9000"}, False, "jumbo MTU: pod_mtu = 1500 (node facts)"),
        (UBUNTU_VM, VM_DEVICE, 9000, {"mtu": "9000"}, True, "jumbo MTU: pod_mtu = 9000 (node facts)"),
    ],
)
def test_jumbo_mtu_is_what_the_node_runs_within_what_its_device_carries(
    base, device, pod_mtu, config, enabled, evidence
):
    node = dataclasses.replace(base, pod_mtu=pod_mtu, config=config, **device)
    seen = catalog.observe(catalog.get("jumbo-mtu"), node)
    assert (seen.enabled, seen.evidence) == (enabled, (evidence,))


def test_a_board_forced_to_mtu_9000_is_blocked_not_enabled():
    board = dataclasses.replace(DEBIAN_BOARD, pod_mtu=9000, config={"mtu": "9000"}, **BOARD_DEVICE)
    readiness = catalog.evaluate("jumbo-mtu", board)
    assert readiness.state == "blocked"
    assert readiness.reasons[0].startswith("eth0 takes at most 1500 bytes")


def test_a_status_look_whose_line_is_absent_lets_the_config_answer():
    # 1.13 prints no routing line (1.16+ only): native routing is judged from cilium-config.
    vm = _node(UBUNTU_VM, "Disabled", tunnel="disabled")
    seen = catalog.observe(catalog.get("native-routing"), vm, cilium_version="1.13.4")
    assert seen.enabled is True and seen.evidence == ("native routing: tunnel = disabled (cilium-config)",)
