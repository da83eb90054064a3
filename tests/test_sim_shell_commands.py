"""Host and network commands in emulated pods: uname, sysctl, files, ip, ethtool, iptables, host tools."""

from __future__ import annotations

from dataclasses import replace

import pytest
from test_sim_shell_helpers import SEED, context

from cilium_lab.sim.shell import dispatch

VM, BOARD = SEED.nodes[0], SEED.nodes[3]
TUNED_113 = {
    "tunnel": "disabled",
    "ipv4-native-routing-cidr": "10.42.0.0/16",
    "kube-proxy-replacement": "strict",
    "enable-bpf-masquerade": "true",
}


def run(argv, **kw):
    return dispatch.run(context(**kw), argv)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["uname", "-r"], "6.2.0-39-generic\n"),
        (["uname", "-v"], "#40-Ubuntu SMP PREEMPT_DYNAMIC Tue Nov 14 14:18:00 UTC 2023\n"),
        (["uname", "-m"], "x86_64\n"),
        (["uname"], "Linux\n"),
    ],
)
def test_uname(argv, expected):
    assert run(argv).stdout == expected


def test_uname_all_and_arm64():
    out = run(["uname", "-a"], node=BOARD).stdout
    assert (
        out
        == "Linux board-1 4.19.0-25-arm64 #1 SMP Debian 4.19.289-2 (2023-08-08) aarch64 aarch64 aarch64 GNU/Linux\n"
    )


def test_uname_bad_option_is_its_usage_error():
    r = run(["uname", "-z"])
    assert (r.code, r.stderr) == (
        1,
        "uname: invalid option -- 'z'\nTry 'uname --help' for more information.\n",
    )


def test_sysctl_values_follow_the_datapath():
    assert run(["sysctl", "-n", "net.ipv4.tcp_congestion_control"]).stdout == "cubic\n"
    bbr = {"enable-bandwidth-manager": "true", "enable-bbr": "true"}
    # BBR needs BPF host routing (1.13 stops without it): native routing, KPR, BPF masquerading
    bbr |= {
        "tunnel": "disabled",
        "ipv4-native-routing-cidr": "10.42.0.0/16",
        "kube-proxy-replacement": "strict",
        "enable-bpf-masquerade": "true",
    }
    assert (
        run(["sysctl", "net.ipv4.tcp_congestion_control"], config=bbr).stdout
        == "net.ipv4.tcp_congestion_control = bbr\n"
    )
    assert run(["sysctl", "-n", "net.core.default_qdisc"], config=bbr).stdout == "fq\n"
    r = run(["sysctl", "-n", "net.core.nope"])
    assert r.code == 255 and "cannot stat /proc/sys/net/core/nope" in r.stderr


def test_sysctl_write_is_refused_without_change():
    r = run(["sysctl", "-w", "net.core.rmem_max=4194304"])
    assert r.code == 255 and "Read-only" in r.stderr
    assert run(["sysctl", "-n", "net.core.rmem_max"]).stdout == "212992\n"


def test_cpufreq_governor_missing_on_vms_present_on_boards():
    path = "/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"
    r = run(["cat", path])
    assert (r.code, r.stderr) == (1, f"cat: {path}: No such file or directory\n")
    assert run(["cat", path], node=BOARD).stdout == "ondemand\n"


def test_glob_over_cpufreq_files_in_sh():
    script = "cat /sys/devices/system/cpu/cpu*/cpufreq/scaling_governor"
    assert run(["sh", "-c", script], node=BOARD).stdout == "ondemand\n" * 4
    r = run(["sh", "-c", script])
    assert r.code == 1 and "cpu*/cpufreq" in r.stderr  # unmatched pattern stays literal


def test_proc_files():
    assert run(["cat", "/proc/version"]).stdout.startswith("Linux version 6.2.0-39-generic ")
    interrupts = run(["cat", "/proc/interrupts"]).stdout.splitlines()
    assert interrupts[0].split() == ["CPU0", "CPU1", "CPU2", "CPU3"]
    assert sum("virtio0-input" in line for line in interrupts) == 4
    assert run(["cat", "/proc/irq/41/smp_affinity_list"]).stdout == "1\n"  # irqbalance spreads
    assert run(["cat", "/proc/irq/41/smp_affinity_list"], node=BOARD).stdout == "0-3\n"


def test_kernel_config_preemption_via_command_substitution():
    out = run(["sh", "-c", "grep CONFIG_PREEMPT /boot/config-$(uname -r)"], node=BOARD).stdout
    assert "CONFIG_PREEMPT_NONE=y\n" in out
    assert (
        "CONFIG_PREEMPT_DYNAMIC=y"
        in run(["sh", "-c", "grep PREEMPT_DYNAMIC /boot/config-$(uname -r)"]).stdout
    )


def test_tuned_adm_missing_without_tuned_and_systemctl():
    r = run(["tuned-adm", "active"])
    assert (r.code, r.stderr) == (127, "sh: 1: tuned-adm: not found\n")
    tuned = replace(VM, host={**VM.host, "tuned_profile": "network-latency"})
    assert run(["tuned-adm", "active"], node=tuned).stdout == "Current active profile: network-latency\n"
    assert run(["systemctl", "is-active", "irqbalance"]).stdout == "active\n"
    r = run(["systemctl", "is-active", "irqbalance"], node=BOARD)
    assert (r.stdout, r.code) == ("inactive\n", 3)


def test_ip_link_detail_shows_big_tcp_sizes_and_xdp():
    node = replace(
        VM,
        kernel="6.8.0-49-generic",
        nic=replace(VM.nic, driver="mlx5_core", xdp_native=True, big_tcp=True),
    )
    config = {
        **TUNED_113,
        "kube-proxy-replacement": "true",
        "routing-mode": "native",
        "enable-ipv4-big-tcp": "true",
        "bpf-lb-acceleration": "native",
    }
    del config["tunnel"]
    out = run(
        ["ip", "-d", "link", "show", "dev", "enp1s0"], node=node, version="1.18.6", config=config
    ).stdout
    assert "mtu 1500 xdp qdisc mq" in out and "prog/xdp id" in out
    assert "gso_ipv4_max_size 196608 gro_ipv4_max_size 196608" in out
    assert "gso_max_size 65536" in out
    plain = run(["ip", "-d", "link", "show", "enp1s0"]).stdout  # kernel 6.2: no IPv4 GSO field yet
    assert "gso_ipv4_max_size" not in plain and "gro_max_size 65536" in plain


def test_ip_link_lists_cilium_devices_and_pod_mtu():
    names = run(["ip", "link", "show"]).stdout
    assert "cilium_host@cilium_net" in names and "cilium_vxlan" in names
    assert "cilium_vxlan" not in run(["ip", "link"], config=TUNED_113).stdout
    pod = run(["ip", "link", "show", "eth0"], bench=True).stdout
    assert "mtu 1450" in pod
    r = run(["ip", "link", "show", "dev", "eth9"])
    assert (r.code, r.stderr) == (1, 'Device "eth9" does not exist.\n')


def test_ip_route_default():
    out = run(["ip", "-o", "route", "show", "default"]).stdout
    assert out == "default via 192.168.7.1 dev enp1s0 proto static \n"
    assert run(["ip", "route"], bench=True).stdout.startswith("default via 10.42.0.1 dev eth0 mtu 1450")


def test_ethtool_driver():
    out = run(["ethtool", "-i", "enp1s0"]).stdout
    assert out.startswith("driver: virtio_net\n")
    r = run(["ethtool", "-i", "eth7"])
    assert r.code == 71 and "No such device" in r.stderr
    assert run(["ethtool", "-k", "enp1s0"]).stdout.startswith("Features for enp1s0:")


def test_iptables_raw_shows_notrack_rules_only_with_no_conntrack():
    plain = run(["iptables", "-t", "raw", "-S"], config=TUNED_113).stdout
    assert "CILIUM_PRE_raw" in plain and "NOTRACK for pod traffic" not in plain
    on = run(
        ["iptables", "-t", "raw", "-S"], config={**TUNED_113, "install-no-conntrack-iptables-rules": "true"}
    ).stdout
    assert on.count("NOTRACK for pod traffic") == 4 and "-d 10.42.0.0/16" in on


def test_iptables_save_shows_kube_proxy_chains_until_kpr():
    assert "KUBE-SERVICES" in run(["iptables-save"]).stdout
    assert "KUBE-SERVICES" not in run(["iptables-save"], config=TUNED_113).stdout
    assert run(["sh", "-c", "iptables-save | grep -c KUBE-"]).stdout.strip().isdigit()
