"""Agent boot on the seed-mixed nodes: defaults, and the tuning series' steps on VMs and boards."""

from __future__ import annotations

import pytest

from cilium_lab.errors import InputError
from cilium_lab.sim.agent import startup
from cilium_lab.sim.state import profiles

SEED = profiles.load("seed-mixed")
VM, BOARD = SEED.nodes[0], SEED.nodes[3]
# The series' steps 01-06 on 1.13 (reference A.1 rows 1, 2, 3, 6)
TUNED_113 = {
    "tunnel": "disabled",
    "ipv4-native-routing-cidr": "10.42.0.0/16",
    "auto-direct-node-routes": "true",
    "kube-proxy-replacement": "strict",
    "enable-bpf-masquerade": "true",
    "enable-host-legacy-routing": "false",
}


def boot(changes: dict[str, str] | None = None, node=VM, version: str = SEED.cilium_version):
    return startup.boot(version, {**SEED.cilium_config, **(changes or {})}, node)


@pytest.mark.parametrize("node", SEED.nodes, ids=lambda n: n.name)
def test_defaults_give_tunnel_legacy_iptables(node):
    b = boot(node=node)
    assert b.ok and b.error is None
    dp = b.datapath
    assert (dp.routing, dp.tunnel_protocol, dp.kpr_mode) == ("tunnel", "vxlan", "Disabled")
    assert (dp.host_routing, dp.masquerade, dp.kpr) == ("legacy", "iptables", False)
    assert dp.mtu == node.nic.mtu - 50 and dp.device_mtu == node.nic.mtu
    assert dp.hubble is True
    assert b.log[0] == 'level=info msg="Cilium 1.13.4" subsys=daemon'


def test_series_steps_give_vms_bpf_host_routing():
    b = boot(TUNED_113)
    dp = b.datapath
    assert (dp.routing, dp.tunnel_protocol, dp.kpr, dp.masquerade) == ("native", None, True, "bpf")
    assert dp.host_routing == "bpf"
    assert dp.mtu == 1500
    assert not any("legacy host routing" in line for line in b.log)


def test_series_steps_leave_boards_on_legacy_with_the_kernel_log_line():
    b = boot(TUNED_113, node=BOARD)
    assert b.ok and b.datapath.host_routing == "legacy"
    expected = (
        "BPF host routing requires kernel 5.10 or newer. "
        "Falling back to legacy host routing (enable-host-legacy-routing=true)."
    )
    assert f'level=info msg="{expected}" subsys=daemon' in b.log
    assert expected in b.datapath.notes
    # Debian's 4.19.0-25 is upstream 4.19.289, past KPR's 4.19.57 (reference A.3)
    assert b.datapath.kpr is True


def test_iptables_masquerade_forces_legacy_with_its_log_line():
    b = boot({**TUNED_113, "enable-bpf-masquerade": "false"})
    assert b.datapath.host_routing == "legacy"
    assert any("BPF host routing requires enable-bpf-masquerade." in line for line in b.log)


def test_host_legacy_routing_true_forces_legacy():
    assert boot({**TUNED_113, "enable-host-legacy-routing": "true"}).datapath.host_routing == "legacy"


def test_without_kpr_legacy_is_silent_in_the_log():
    b = boot({"enable-host-legacy-routing": "false"})
    assert b.datapath.host_routing == "legacy"
    assert not any("host routing" in line for line in b.log)
    assert any(note.startswith("(no agent log line)") and "host routing" in note for note in b.datapath.notes)


def test_bpf_host_routing_is_allowed_in_tunnel_mode():
    changes = {k: v for k, v in TUNED_113.items() if k not in ("tunnel", "auto-direct-node-routes")}
    dp = boot(changes).datapath
    assert (dp.routing, dp.host_routing, dp.mtu) == ("tunnel", "bpf", 1450)


def test_unsupported_version_crash_loops_with_a_clear_message():
    b = boot(version="1.8.3")
    assert not b.ok and b.datapath is None
    assert "1.10 to 1.20" in b.error


def test_bad_version_string_raises_input_error():
    with pytest.raises(InputError, match="not a Cilium version"):
        boot(version="latest")
