"""netperf command lines and the strict output parser, table-tested on captured real output."""

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cilium_lab.bench import netperf
from cilium_lab.errors import InputError

FIXTURES = Path(__file__).parent / "fixtures" / "netperf"
HEADER = (
    "Minimum Latency Microseconds,Mean Latency Microseconds,Maximum Latency Microseconds,"
    "50th Percentile Latency Microseconds,90th Percentile Latency Microseconds,"
    "99th Percentile Latency Microseconds,Transaction Rate Tran/s,Throughput,Throughput Units"
)
BANNER = "MIGRATED TCP REQUEST/RESPONSE TEST from 0.0.0.0 (0.0.0.0) port 0 AF_INET to 10.42.1.7 () port 0 AF_INET : demo : first burst 0"


def captured(name: str) -> str:
    """A fixture without its `#` provenance header."""
    text = (FIXTURES / name).read_text()
    return "".join(line for line in text.splitlines(keepends=True) if not line.startswith("#"))


def rr_output(values: str) -> str:
    return f"{BANNER}\n{HEADER}\n{values}\n"


def test_stream_capture_gives_throughput_only():
    result = netperf.parse(captured("tcp_stream.txt"), test="TCP_STREAM")
    assert result.ok, result.reason
    assert result.values == {"throughput": 16516.89}


def test_rr_capture_gives_rate_and_latency_percentiles():
    result = netperf.parse(captured("tcp_rr.txt"), test="TCP_RR")
    assert result.ok, result.reason
    assert result.values["transaction_rate"] == 61680.5
    assert (result.values["latency_p50"], result.values["latency_p90"], result.values["latency_p99"]) == (
        15,
        16,
        56,
    )
    assert result.values["latency_mean"] == 16.17


def test_crr_capture_parses():
    result = netperf.parse(captured("tcp_crr.txt"), test="TCP_CRR")
    assert result.ok
    assert result.values["transaction_rate"] == 10552.589
    assert result.values["latency_p99"] == 1288


def test_multi_stream_capture_sums_the_processes():
    result = netperf.parse(captured("tcp_stream_multi2.txt"), test="TCP_STREAM_MULTI", streams=2)
    assert result.ok
    assert result.values["throughput"] == pytest.approx(5510.38 + 4540.84)


def test_multi_stream_with_a_missing_process_is_a_failed_sample():
    result = netperf.parse(captured("tcp_stream_multi2.txt"), test="TCP_STREAM_MULTI", streams=3)
    assert not result.ok
    assert "expected 3 netperf result line(s), found 2" in result.reason
    assert result.values == {}


def test_no_netserver_capture_is_a_failed_sample_with_the_reason():
    result = netperf.parse(captured("no_netserver.txt"), test="TCP_RR", code=255)
    assert not result.ok
    assert "code 255" in result.reason and "establish control" in result.reason
    # the same text with a zero exit code is still a failure
    assert not netperf.parse(captured("no_netserver.txt"), test="TCP_RR").ok


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ("14,16.17,1874,15,16,56,61680.500,61680.50", "has 8 fields"),
        ("14,16.17,1874,15,16,56,61680.500,61680.50,Trans/s,extra", "has 10 fields"),
        ("14,16.17,1874,15,16,n/a,61680.500,61680.50,Trans/s", "P99_LATENCY is not a number"),
        ("14,16.17,1874,15,16,nan,61680.500,61680.50,Trans/s", "P99_LATENCY is not a positive finite"),
        ("14,16.17,1874,15,16,56,0.000,0.00,Trans/s", "TRANSACTION_RATE is not a positive finite"),
        ("14,-16.17,1874,15,16,56,61680.500,61680.50,Trans/s", "MEAN_LATENCY is not a positive finite"),
        ("14,16.17,1874,15,16,56,61680.500,61680.50,10^6bits/s", "units '10^6bits/s', expected 'Trans/s'"),
        ("14,16.17,1874,15,16,56,inf,61680.50,Trans/s", "TRANSACTION_RATE is not a positive finite"),
    ],
)
def test_bad_rr_value_lines_are_failed_samples(values, reason):
    result = netperf.parse(rr_output(values), test="TCP_RR")
    assert not result.ok
    assert reason in result.reason
    assert result.values == {}


def test_stream_in_wrong_units_fails():
    text = captured("tcp_stream.txt").replace("10^6bits/s", "10^3Bytes/s")
    result = netperf.parse(text, test="TCP_STREAM")
    assert not result.ok and "expected '10^6bits/s'" in result.reason


def test_empty_and_header_only_output_fail():
    assert not netperf.parse("", test="TCP_RR").ok
    assert not netperf.parse(f"{BANNER}\n{HEADER}\n", test="TCP_RR").ok


def test_nonzero_exit_fails_even_with_a_value_line():
    result = netperf.parse(captured("tcp_rr.txt"), test="TCP_RR", code=1, stderr="Killed")
    assert not result.ok and result.reason == "netperf exited with code 1: Killed"


@given(st.text(max_size=300))
def test_parser_never_raises_on_arbitrary_text(text):
    result = netperf.parse(text, test="TCP_RR")
    assert result.ok is False or all(v > 0 for v in result.values.values())


def test_command_is_cilium_clis_with_integer_seconds_and_no_send_size():
    argv = netperf.command("TCP_STREAM", "10.42.1.7", 10)
    assert argv[:7] == ["netperf", "-H", "10.42.1.7", "-l", "10", "-t", "TCP_STREAM"]
    assert argv[7:] == ["--", "-R", "1", "-o", ",".join(netperf.OUTPUT_FIELDS)]
    assert "-m" not in argv


def test_multi_stream_command_runs_n_processes_in_one_shell():
    argv = netperf.command("TCP_STREAM_MULTI", "10.42.1.7", 5, streams=3)
    assert argv[:2] == ["sh", "-c"]
    assert argv[2].count("netperf -H 10.42.1.7 -l 5 -t TCP_STREAM") == 3
    assert argv[2].endswith(" & wait")


def test_service_command_pins_the_data_port():
    argv = netperf.command("TCP_RR", "10.43.0.20", 5, data_ports=[12866])
    assert argv[-2:] == ["-P", ",12866"]


@pytest.mark.parametrize("duration", [0, -1, 2.5, "10", "1m0s", float("nan"), True])
def test_durations_other_than_whole_positive_seconds_are_refused(duration):
    with pytest.raises(InputError, match="whole number of seconds"):
        netperf.command("TCP_RR", "10.0.0.1", duration)


def test_unknown_test_and_bad_stream_counts_are_refused():
    with pytest.raises(InputError, match="unknown netperf test 'UDP_RR'"):
        netperf.command("UDP_RR", "10.0.0.1", 10)
    with pytest.raises(InputError, match=">= 2"):
        netperf.command("TCP_STREAM_MULTI", "10.0.0.1", 10, streams=1)
