"""Local lab knob registry, feature-probe reasons and the command line's errors (pure)."""

from __future__ import annotations

import json

import pytest

from cilium_lab.cli import main
from cilium_lab.errors import InputError
from cilium_lab.locallab import KNOBS, probe, report, run
from cilium_lab.locallab.knob_runs import KnobResult
from cilium_lab.locallab.measure import TESTS

ALL_PRESENT = dict.fromkeys(probe.FEATURES, "")


def test_every_knob_names_known_tests_and_features_and_a_source():
    assert set(KNOBS) >= {
        "iptables-rules",
        "service-nat",
        "conntrack",
        "mtu",
        "vxlan",
        "bpf-host-routing",
        "big-tcp",
        "bbr",
    }
    for knob in KNOBS.values():
        assert knob.tests and set(knob.tests) <= set(TESTS), knob.name
        assert set(knob.requires) <= set(probe.FEATURES), knob.name
        assert "root" in knob.requires and knob.source.startswith("kernel-lab.md"), knob.name
        assert knob.a_label != knob.b_label


def test_mtu_knob_says_offloads_are_off():
    assert "TSO/GSO are OFF" in KNOBS["mtu"].note


def test_resolve_keeps_order_and_rejects_unknown_names():
    from cilium_lab.locallab.knobs import resolve

    assert [k.name for k in resolve(("vxlan", "mtu"))] == ["vxlan", "mtu"]
    assert [k.name for k in resolve(())] == list(KNOBS)
    with pytest.raises(InputError, match="unknown knob"):
        resolve(("vxlan", "warp-drive"))


def test_support_gives_the_reason_of_the_first_missing_feature():
    features = {**ALL_PRESENT, "bpf": "clang not installed (install clang, llvm and libbpf-dev)"}
    support = probe.support(KNOBS.values(), features)
    assert support["bpf-host-routing"] == "clang not installed (install clang, llvm and libbpf-dev)"
    assert support["big-tcp"].startswith("clang not installed")
    assert support["iptables-rules"] == "" and support["vxlan"] == ""


def test_support_skips_everything_without_root():
    support = probe.support(KNOBS.values(), {**ALL_PRESENT, "root": "not root: run as root"})
    assert set(support.values()) == {"not root: run as root"}


def test_congestion_control_reason():
    assert probe.congestion_controls_reason("reno bbr cubic\n") == ""
    assert probe.congestion_controls_reason("reno cubic") == "kernel lacks TCP congestion control bbr"


def test_cli_without_root_is_one_line_and_exit_2(monkeypatch, capsys):
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    assert main(["local", "mtu"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "needs root" in err and "run it as root" in err


def test_cli_rejects_unknown_knob_before_anything(capsys):
    assert main(["local", "warp-drive"]) == 2
    assert "unknown knob(s) warp-drive" in capsys.readouterr().err


def test_cli_probe_json_without_root_explains_every_knob(monkeypatch, capsys):
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    assert main(["local", "--probe", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["features"]["root"] == "not root: run as root"
    assert set(found["knobs"]) == set(KNOBS) and all(found["knobs"].values())


def test_cli_bad_samples_is_one_line_and_writes_nothing(monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["local", "mtu", "--samples", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--samples must be from 2 to 1000" in err
    assert list(tmp_path.iterdir()) == []


def test_cli_without_root_writes_no_results(monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    assert main(["local", "mtu", "--results-dir", "kept"]) == 2
    assert list(tmp_path.iterdir()) == []


def test_cli_results_dir_that_is_a_file_is_one_line(monkeypatch, tmp_path, capsys):
    (tmp_path / "taken").write_text("not a folder")
    monkeypatch.setattr("cilium_lab.cli.verb_local.require_root", lambda: None)
    assert main(["local", "mtu", "--results-dir", str(tmp_path / "taken")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "is a file, not a folder" in err


def test_a_run_with_every_knob_skipped_makes_no_store(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    results = run(["mtu", "vxlan"], samples=2, duration=1)
    assert {r.verdict for r in results} == {"skipped"} and all("not root" in r.reason for r in results)
    assert list(tmp_path.iterdir()) == []


def test_the_report_says_which_host_and_iptables_build_measured():
    host = {"kernel": "6.18.44", "machine": "x86_64", "cpus": 2, "iptables": "v1.8.9 (nf_tables)"}
    line = probe.describe_host(host)
    assert line == "kernel 6.18.44, x86_64, 2 CPUs, iptables v1.8.9 (nf_tables)"
    text = report.render([], samples=8, duration=1, host=line)
    assert text.splitlines()[:2] == [report.HEADER, f"host: {line}"]


def test_host_names_the_iptables_backend_or_its_absence(monkeypatch):
    monkeypatch.setattr(probe.shell, "have", lambda name: False)
    assert probe.host()["iptables"] == "not installed"


def test_a_knobs_counter_is_reported_per_arm():
    r = KnobResult(
        "conntrack",
        "TCP_CRR",
        "connections",
        "conn/s",
        "conntrack",
        "NOTRACK",
        8,
        counter="conntrack_entries",
        counter_a=12002.0,
        counter_b=0.0,
    )
    assert report.counter_lines([r]) == [
        "conntrack: conntrack entries grew per sample by 12,002 with conntrack, 0 with NOTRACK"
    ]
    assert KNOBS["conntrack"].counter is not None and KNOBS["conntrack"].counter.unit == "entries"
    assert report.counter_lines([KnobResult("mtu", "TCP_STREAM", "throughput", "Mbit/s", "a", "b", 2)]) == []
