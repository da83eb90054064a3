"""The emulated iperf3: the -J document's structure, its numbers against the model, and failures.

SIMULATED numbers throughout.
"""

from __future__ import annotations

import json

import pytest
from sim_perf_fakes import EBPF, FakeCluster, bench_node

from cilium_lab.sim.perf import network_model
from cilium_lab.sim.perf.path import Path, Side

A, B = bench_node("n1", "10.0.0.1"), bench_node("n2", "10.0.0.2")
POD = "10.0.1.10"


@pytest.fixture
def cluster() -> FakeCluster:
    c = FakeCluster()
    c.add(POD, B, EBPF)
    return c


def iperf3(cluster: FakeCluster, command: str):
    return cluster.exec(cluster.context(A, EBPF), command)


def test_json_document_has_iperf3_structure_and_model_numbers(cluster) -> None:
    result = iperf3(cluster, f"iperf3 -c {POD} -t 5 -P 4 -J")
    doc = json.loads(result.stdout)
    assert result.code == 0 and set(doc) == {"start", "intervals", "end"}
    assert doc["start"]["test_start"]["num_streams"] == 4 and doc["start"]["version"] == "iperf 3.21"
    assert len(doc["intervals"]) == 5 and len(doc["intervals"][0]["streams"]) == 4
    end = doc["end"]
    assert {"sum_sent", "sum_received", "cpu_utilization_percent", "streams"} <= set(end)
    assert end["sender_tcp_congestion"] == "cubic"
    assert (
        "retransmits" in end["sum_sent"]
        and end["sum_received"]["bits_per_second"] <= end["sum_sent"]["bits_per_second"]
    )
    path = Path(Side(A, EBPF, False), Side(B, EBPF, False))
    expected = network_model.expected(path, "TCP_STREAM", 4).aggregate * 1e6
    assert end["sum_sent"]["bits_per_second"] == pytest.approx(expected, rel=0.15)
    assert cluster.now == pytest.approx(5)


def test_reverse_udp_and_text_forms(cluster) -> None:
    reverse = json.loads(iperf3(cluster, f"iperf3 -c {POD} -R -J").stdout)
    assert reverse["start"]["test_start"]["reverse"] == 1
    udp = json.loads(iperf3(cluster, f"iperf3 -c {POD} -u -b 10M -J").stdout)
    assert udp["end"]["sum_sent"]["bits_per_second"] == pytest.approx(10e6, rel=0.05)
    assert udp["end"]["streams"][0]["udp"]["lost_percent"] == 0
    text = iperf3(cluster, f"iperf3 -c {POD} -t 2").stdout
    assert text.startswith(f"Connecting to host {POD}, port 5201\n") and text.endswith(
        "receiver\n\niperf Done.\n"
    )


def test_server_and_failures(cluster) -> None:
    assert "Server listening on 5201" in iperf3(cluster, "iperf3 -s").stdout
    nobody = iperf3(cluster, "iperf3 -c 10.0.7.7")
    assert nobody.code == 1 and nobody.stderr.startswith("iperf3: error - unable to connect to server")
    as_json = json.loads(iperf3(cluster, "iperf3 -c 10.0.7.7 -J").stdout)
    assert as_json["error"].startswith("unable to connect to server")
    assert iperf3(cluster, "iperf3 --bogus").stderr.startswith("iperf3: unrecognized option '--bogus'")
    assert iperf3(cluster, "iperf3 -t 5").stderr.startswith(
        "iperf3: parameter error - must either be a client (-c) or server (-s)"
    )
    assert iperf3(cluster, f"iperf3 -c {POD} -P 0").code == 1
