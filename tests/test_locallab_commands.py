"""Local lab command construction, output parsing and the host lock (no root, no tools needed)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from cilium_lab.locallab import bpfprog, measure, rules, shell, topology
from cilium_lab.locallab.shell import LocalLabBusy, LocalLabError


def test_netperf_rr_command_targets_pinned_server_and_prints_csv():
    argv = measure.netperf_argv("TCP_RR", "10.200.2.2", seconds=2, port=12865)
    assert argv[:3] == ["netperf", "-P", "0"]
    assert argv[argv.index("-t") + 1] == "TCP_RR" and argv[argv.index("-l") + 1] == "2"
    assert argv[argv.index("-p") + 1] == "12865"
    assert argv[-2:] == ["-o", "THROUGHPUT,THROUGHPUT_UNITS,MEAN_LATENCY"]
    assert "-6" not in argv


def test_netperf_ipv6_and_fixed_data_port():
    argv = measure.netperf_argv("TCP_CRR", "fd00:2::2", seconds=1, port=12865, data_port=12870)
    assert argv[1] == "-6"
    assert argv[argv.index("-l") + 1] == f"-{measure.CRR_PER_SECOND}"  # a transaction count, not seconds
    assert argv[-2:] == ["-P", ",12870"]


def test_netperf_rejects_unknown_test():
    with pytest.raises(LocalLabError, match="TCP_MAERTS"):
        measure.netperf_argv("TCP_MAERTS", "10.200.2.2", seconds=1, port=1)


@pytest.mark.parametrize(
    ("text", "rate", "latency"),
    [
        ("56881.71,Trans/s,17.52\n", 56881.71, 17.52),
        ("9840.69,10^6bits/s,13.22", 9840.69, 13.22),
        ("MIGRATED TCP STREAM TEST\n13295.15,Trans/s,75.16\n", 13295.15, 75.16),
    ],
)
def test_parse_netperf(text, rate, latency):
    assert measure.parse_netperf(text) == (rate, latency)


@pytest.mark.parametrize(
    "text", ["", "establish control: are you sure there is a netserver listening", "a,b,c"]
)
def test_parse_netperf_rejects_output_without_a_result(text):
    with pytest.raises(LocalLabError, match="netperf printed no result"):
        measure.parse_netperf(text)


def test_iperf3_sets_congestion_control_per_socket_and_parse_checks_it():
    argv = measure.iperf3_argv("10.200.2.2", seconds=2.5, cc="cubic")
    assert argv[argv.index("-C") + 1] == "cubic" and argv[argv.index("-t") + 1] == "2.5" and "-J" in argv
    out = {"end": {"sum_received": {"bits_per_second": 95.5e6}, "sender_tcp_congestion": "cubic"}}
    assert measure.parse_iperf3(json.dumps(out)) == (95.5, "cubic")
    with pytest.raises(LocalLabError, match="iperf3"):
        measure.parse_iperf3('{"error": "unable to connect"}')


def test_bpf_compile_passes_addresses_as_big_endian_constants():
    argv = bpfprog.compile_argv(
        "/tmp/x.o",
        ifindex=7,
        dmac="aa:bb:cc:dd:ee:01",
        smac="02:00:00:00:00:02",
        dst4="10.200.2.2",
        dst6="fd00:2::2",
    )
    assert argv[:4] == ["clang", "-O2", "-g", "-target"] and "bpf" in argv
    defines = dict(a[2:].split("=", 1) for a in argv if a.startswith("-D"))
    assert defines == {
        "TARGET_IFINDEX": "7",
        "DMAC": "0xaabbccddee01ULL",
        "SMAC": "0x020000000002ULL",
        "DST4": "0x0ac80202ULL",
        "DST6_HI": "0xfd00000200000000ULL",
        "DST6_LO": "0x0000000000000002ULL",
    }
    assert argv[-3:-1] == [str(bpfprog.SOURCE), "-o"] and bpfprog.SOURCE.suffix == ".c"


def test_forward_rules_flush_then_add_distinct_non_matching_rules():
    text = rules.forward_rules(1000, conntrack=True)
    lines = text.splitlines()
    assert lines[:3] == ["*filter", "-F FORWARD", "-A FORWARD -m conntrack --ctstate INVALID -j DROP"]
    adds = [line for line in lines if line.startswith("-A FORWARD -d ")]
    assert len(adds) == 1000 and len(set(adds)) == 1000
    assert all(" -d 10.96." in line for line in adds) and lines[-1] == "COMMIT"


def test_service_nat_puts_the_real_cluster_ip_after_the_other_services():
    lines = rules.services(10).splitlines()
    dnat = [line for line in lines if "-j DNAT" in line]
    assert len(dnat) == 12
    assert dnat[-2:] == [
        "-A KUBE-SERVICES -d 10.96.0.10/32 -p tcp -m tcp --dport 12865 -j DNAT --to-destination 10.200.2.2:12865",
        "-A KUBE-SERVICES -d 10.96.0.10/32 -p tcp -m tcp --dport 12870 -j DNAT --to-destination 10.200.2.2:12870",
    ]
    assert "-A PREROUTING -j KUBE-SERVICES" in lines and "-F KUBE-SERVICES" in lines


def test_notrack_covers_pod_traffic_in_the_raw_table():
    assert rules.notrack().splitlines()[:3] == [
        "*raw",
        "-F PREROUTING",
        "-A PREROUTING -s 10.200.0.0/16 -d 10.200.0.0/16 -j CT --notrack",
    ]


def test_commands_only_ever_enter_the_labs_own_namespaces():
    assert shell.in_netns("cl-a", ["ss"]) == ["ip", "netns", "exec", "cl-a", "ss"]
    with pytest.raises(LocalLabError, match="only uses 'cl-"):
        shell.in_netns("default", ["iptables", "-F"])
    assert shell.pinned(1, ["netperf"]) == ["taskset", "-c", "1", "nice", "-n", "-10", "netperf"]
    assert shell.pinned(None, ["netperf"]) == ["nice", "-n", "-10", "netperf"]


def test_run_reports_the_failing_command_in_one_line():
    with pytest.raises(LocalLabError, match=r"`sh -c echo boom >&2; exit 3` failed \(exit 3\): boom"):
        shell.run(["sh", "-c", "echo boom >&2; exit 3"])
    with pytest.raises(LocalLabError, match="no-such-tool-xyz is not installed"):
        shell.run(["no-such-tool-xyz"])


def test_the_host_lock_excludes_a_second_run_and_leaves_no_file(monkeypatch, tmp_path):
    lock = tmp_path / "lab.lock"
    monkeypatch.setattr(topology, "LOCK_PATH", str(lock))
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from cilium_lab.locallab import topology as t; t.LOCK_PATH = sys.argv[1]\n"
            "with t.host_lock():\n    print('held', flush=True); time.sleep(1.5)",
            str(lock),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(LocalLabBusy, match="another local lab run holds"), topology.host_lock(wait_s=0.3):
            pass
        with topology.host_lock(wait_s=10):  # waits for the holder, which removed its file on release
            assert lock.exists()
    finally:
        holder.wait(timeout=10)
    assert holder.returncode == 0 and not lock.exists()
