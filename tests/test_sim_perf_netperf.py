"""The emulated netperf/netserver: argv handling, netperf's exact output formats and failures.

Formats are checked against netperf's source (HewlettPackard/netperf nettest_omni.c, netlib.c) and
real captured outputs (cilium-cli perfpod_test.go fixtures). SIMULATED numbers throughout.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sim_perf_fakes import CILIUM_CLI_SELECTORS, EBPF, FakeCluster, bench_node, netperf_values

from cilium_lab.sim.shell import netperf_emu, netperf_output

A, B = bench_node("n1", "10.0.0.1"), bench_node("n2", "10.0.0.2")
POD, HOST = "10.0.1.10", "10.0.0.2"
CILIUM_CLI_TITLES = (
    "Minimum Latency Microseconds,Mean Latency Microseconds,Maximum Latency Microseconds,"
    "50th Percentile Latency Microseconds,90th Percentile Latency Microseconds,"
    "99th Percentile Latency Microseconds,Transaction Rate Tran/s,Throughput,Throughput Units"
)


@pytest.fixture
def cluster() -> FakeCluster:
    c = FakeCluster()
    c.add(POD, B, EBPF)
    c.add(HOST, B, EBPF, host=True)
    return c


def run(cluster: FakeCluster, command: str, concurrent: int = 1, **context):
    return cluster.exec(cluster.context(A, EBPF, **context), command, concurrent)


@pytest.mark.parametrize(
    ("test", "banner_end", "units"),
    [
        (
            "TCP_STREAM",
            "TCP STREAM TEST from 0.0.0.0 (0.0.0.0) port 0 AF_INET to 10.0.1.10 () port 0 AF_INET",
            "10^6bits/s",
        ),
        (
            "UDP_STREAM",
            "UDP STREAM TEST from 0.0.0.0 (0.0.0.0) port 0 AF_INET to 10.0.1.10 () port 0 AF_INET",
            "10^6bits/s",
        ),
        (
            "TCP_RR",
            "TCP REQUEST/RESPONSE TEST from 0.0.0.0 (0.0.0.0) port 0 AF_INET to 10.0.1.10 () port 0 AF_INET : first burst 0",
            "Trans/s",
        ),
        (
            "UDP_RR",
            "UDP REQUEST/RESPONSE TEST from 0.0.0.0 (0.0.0.0) port 0 AF_INET to 10.0.1.10 () port 0 AF_INET : first burst 0",
            "Trans/s",
        ),
        (
            "TCP_CRR",
            "TCP Connect/Request/Response TEST from 0.0.0.0 (0.0.0.0) port 0 AF_INET to 10.0.1.10 () port 0 AF_INET",
            "Trans/s",
        ),
    ],
)
def test_cilium_cli_command_prints_banner_titles_and_nine_values(cluster, test, banner_end, units) -> None:
    result = run(
        cluster, f"/usr/local/bin/netperf -H {POD} -l 10 -t {test} -- -R 1 -o {CILIUM_CLI_SELECTORS}"
    )
    banner, titles, values = result.stdout.splitlines()
    assert result.code == 0 and result.stderr == ""
    assert banner == "MIGRATED " + banner_end
    assert titles == CILIUM_CLI_TITLES
    fields = values.split(",")
    assert len(fields) == 9 and fields[8] == units
    assert all(
        re.fullmatch(r"\d+", f) for f in (fields[0], *fields[2:6])
    )  # integer latencies, as netperf's %d
    assert re.fullmatch(r"\d+\.\d{2}", fields[1]) and re.fullmatch(r"\d+\.\d{3}", fields[6])
    assert int(fields[0]) <= int(fields[3]) <= int(fields[4]) <= int(fields[5]) <= int(fields[2])
    if units == "Trans/s":
        assert float(fields[6]) == pytest.approx(float(fields[7]), abs=0.01)
        assert float(fields[1]) == pytest.approx(1e6 / float(fields[7]), rel=0.01)
    else:
        assert fields[6] == "1.000"


def test_headers_off_prints_only_values_and_unknown_selectors_stay_empty(cluster) -> None:
    result = run(
        cluster, f"netperf -P 0 -H {POD} -t TCP_RR -- -o throughput,LOCAL_TRANSPORT_RETRANS,NOT_A_SELECTOR"
    )
    assert re.fullmatch(r"\d+\.\d{2},0, \n", result.stdout)


def test_keyval_and_human_selector_modes(cluster) -> None:
    keyval = run(cluster, f"netperf -H {POD} -t TCP_RR -- -k rt_latency,p99_latency,throughput_units").stdout
    assert re.fullmatch(
        r"MIGRATED [^\n]+\nRT_LATENCY=\d+\.\d{3}\nP99_LATENCY=\d+\nTHROUGHPUT_UNITS=Trans/s\n", keyval
    )
    human = run(cluster, f"netperf -H {POD} -t TCP_RR -- -O MIN_LATENCY,THROUGHPUT").stdout.splitlines()
    assert human[1] == "Minimum      Throughput "
    assert human[3] == "Microseconds            "
    assert re.fullmatch(r"\d+ +\d+\.\d{2} *", human[5])


def test_classic_tables_without_selectors(cluster) -> None:
    stream = run(cluster, f"netperf -H {POD} -l 30").stdout.splitlines()
    assert stream[1:5] == [
        "Recv   Send    Send                          ",
        "Socket Socket  Message  Elapsed              ",
        "Size   Size    Size     Time     Throughput  ",
        "bytes  bytes   bytes    secs.    10^6bits/sec  ",
    ]
    assert re.fullmatch(r"131072  16384  16384    30\.00 +\d+\.\d{2}   ", stream[6])
    rr = run(cluster, f"netperf -H {POD} -t tcp_rr -- -r 64,1024").stdout.splitlines()
    assert (
        re.fullmatch(r"16384  131072 64       1024    10\.00 +\d+\.\d{2}   ", rr[6])
        and rr[7] == "16384  131072"
    )
    gbits = run(cluster, f"netperf -f g -H {POD}").stdout.splitlines()
    assert gbits[4].endswith("10^9bits/sec  ") and 10 < float(gbits[6].split()[4]) < 100


def test_failures_print_netperfs_own_text(cluster) -> None:
    nobody = run(cluster, "netperf -H 10.0.7.7 -t TCP_RR")
    assert nobody.code == 255 and nobody.stdout == (
        "establish control: are you sure there is a netserver listening on 10.0.7.7 at port 12865?\n"
        "establish_control could not establish the control connection from 0.0.0.0 port 0 "
        "address family AF_UNSPEC to 10.0.7.7 port 12865 address family AF_INET\n"
    )
    assert cluster.now == pytest.approx(netperf_emu.SYN_TIMEOUT)  # the connect() timed out
    assert run(cluster, "netperf -H perf-server").stdout.endswith(
        "Netperf could not resolve perf-server as a host name\n"
    )
    assert run(cluster, "netperf -H 127.0.0.1").code == 255  # no netserver in the client pod itself
    unknown = run(cluster, f"netperf -H {POD} -t SCTP_RR")
    assert unknown.code == 1 and unknown.stdout.startswith(
        "The test you requested (SCTP_RR) is unknown to this netperf."
    )
    bad_global = run(cluster, "netperf -X")
    assert bad_global.code == 1 and bad_global.stderr.startswith(
        "netperf: invalid option -- 'X'\n\nUsage: netperf"
    )
    bad_test = run(cluster, f"netperf -H {POD} -- -Q")
    assert bad_test.code == 1 and "OMNI and Migrated BSD Sockets Test Options" in bad_test.stdout
    assert run(cluster, "netperf -H").stderr.startswith("netperf: option requires an argument -- 'H'")


def test_pod_on_a_node_without_agent_is_unreachable(cluster) -> None:
    cluster.add("10.0.1.11", B, None)
    assert run(cluster, "netperf -H 10.0.1.11").code == 255
    no_agent_client = cluster.exec(cluster.context(A, None), f"netperf -H {POD}")
    assert no_agent_client.code == 255
    host_client = cluster.exec(cluster.context(A, None, host=True), f"netperf -H {HOST}")
    assert host_client.code == 0  # host networking needs no agent


def test_virtual_time_advances_once_per_concurrent_line(cluster) -> None:
    run(cluster, f"netperf -H {POD} -l 10")
    assert cluster.now == pytest.approx(10)
    for _ in range(4):
        run(cluster, f"netperf -H {POD} -l 30", concurrent=4)
    assert cluster.now == pytest.approx(40)


def test_concurrent_processes_share_the_link(cluster) -> None:
    command = f"netperf -P 0 -H {POD} -- -o THROUGHPUT"
    single = float(run(cluster, command).stdout)
    each = [float(run(cluster, command, concurrent=32).stdout) for _ in range(32)]
    assert sum(each) > 1.5 * single
    assert sum(each) < 100_000 * 1448 / 1538 * 1.1


def test_same_seed_same_output() -> None:
    outputs = []
    for _ in range(2):
        c = FakeCluster()
        c.add(POD, B, EBPF)
        outputs.append(
            [
                run(c, f"netperf -H {POD} -t {t} -- -o {CILIUM_CLI_SELECTORS}").stdout
                for t in ("TCP_RR", "TCP_STREAM")
            ]
        )
    assert outputs[0] == outputs[1]


def test_host_network_and_data_port_in_banner(cluster) -> None:
    result = run(cluster, f"netperf -H {HOST} -t TCP_RR -- -P ,12867 -o THROUGHPUT", host=True)
    assert result.stdout.splitlines()[0].endswith(f"to {HOST} () port 12867 AF_INET : first burst 0")
    assert float(netperf_values(result.stdout)[0]) > 10_000


def test_netserver_and_version() -> None:
    c = FakeCluster()
    ctx = c.context(A, EBPF)
    started = netperf_emu.run(ctx, ["netserver", "-D", "-p", "12866"])
    assert (
        started.stdout == "Starting netserver with host 'IN(6)ADDR_ANY' port '12866' and family AF_UNSPEC\n"
    )
    refused = netperf_emu.run(ctx, ["netserver", "-q"])
    assert refused.code == 1 and refused.stderr.startswith(
        "netserver: invalid option -- 'q'\n\nUsage: netserver"
    )
    assert netperf_emu.run(ctx, ["/usr/local/bin/netperf", "-V"]).stdout == "Netperf version 2.7.1\n"
    assert netperf_emu.run(ctx, ["nc", "-l"]).code == 127


def test_rr_beside_bulk_streams_sees_latency_under_load() -> None:
    from dataclasses import replace

    p99 = {}
    for name, datapath in (("plain", EBPF), ("bwm", replace(EBPF, bandwidth_manager=True))):
        c = FakeCluster()
        c.add(POD, B, datapath)
        ctx = c.context(A, datapath)
        command = f"netperf -P 0 -H {POD} -t TCP_RR -- -o P99_LATENCY,P50_LATENCY"
        idle = [int(c.exec(ctx, command).stdout.split(",")[0]) for _ in range(5)]
        loaded = [
            int(netperf_emu.run(ctx, command.split(), 3, load=2).stdout.split(",")[0]) for _ in range(5)
        ]
        p99[name] = sorted(loaded)[2] / sorted(idle)[2]
    assert p99["plain"] > 5 and p99["plain"] / p99["bwm"] > 5  # C.2: ~10x lower p99 with EDT + FQ


def test_verbosity_zero_prints_only_the_rate(cluster) -> None:
    assert re.fullmatch(r" *\d+\.\d{2} \n", run(cluster, f"netperf -P 0 -v 0 -H {POD}").stdout)


@given(
    st.lists(st.sampled_from([*netperf_output.SELECTORS, "BOGUS", "p99_latency"]), min_size=1, max_size=12)
)
@settings(max_examples=40, deadline=None)
def test_csv_output_has_one_title_per_value_for_any_selection(names) -> None:
    c = FakeCluster()
    c.add(POD, B, EBPF)
    out = c.exec(
        c.context(A, EBPF), f"netperf -H {POD} -t TCP_RR -- -o {','.join(names)}"
    ).stdout.splitlines()
    assert out[0].startswith("MIGRATED TCP REQUEST/RESPONSE TEST")
    titles, values = out[1].split(","), out[2].split(",")
    assert (
        len(titles) == len(values) == len(names) or "COMMAND_LINE" in names
    )  # the command line holds commas


def test_ipv6_target_fails_to_connect_like_netperf(cluster) -> None:
    result = run(cluster, "netperf -H fd00::7")
    assert result.code == 255 and result.stdout.endswith("to fd00::7 port 12865 address family AF_INET6\n")
