"""Local lab knob registry, feature-probe reasons, statistics and the command line's errors (pure)."""

from __future__ import annotations

import json

import pytest

from cilium_lab.cli import main
from cilium_lab.errors import InputError
from cilium_lab.locallab import KNOBS, probe, stats
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


def test_paired_ratio_brackets_the_median_pair_ratio():
    ci = stats.paired_ratio([100, 102, 98, 101, 99], [50, 52, 49, 51, 48])
    assert ci.ratio == pytest.approx(0.5, abs=0.01)
    assert 0.47 < ci.low <= ci.ratio <= ci.high < 0.53


def test_paired_ratio_cancels_drift_between_pairs():
    # the host's level halves mid-run; B is 10% above A in every pair
    a = [100, 100, 50, 50, 100, 50]
    b = [110, 110, 55, 55, 110, 55]
    ci = stats.paired_ratio(a, b)
    assert ci.ratio == pytest.approx(1.1) and ci.low == pytest.approx(1.1) and ci.high == pytest.approx(1.1)


def test_verdict_claims_an_effect_only_with_the_ci_off_one_and_above_the_noise_floor():
    big_rise = stats.RatioCI(3.0, 2.5, 3.5)
    small_rise = stats.RatioCI(1.05, 1.01, 1.09)
    straddles = stats.RatioCI(1.5, 0.8, 2.0)
    assert stats.verdict(big_rise, higher_is_better=True, noise=0.1) == "better"
    assert stats.verdict(big_rise, higher_is_better=False, noise=0.1) == "worse"
    assert stats.verdict(small_rise, higher_is_better=True, noise=0.1) == "slightly better"
    assert stats.verdict(small_rise, higher_is_better=False, noise=0.1) == "slightly worse"
    small_fall = stats.RatioCI(0.84, 0.81, 0.86)  # VXLAN throughput on the project's VM
    assert stats.verdict(small_fall, higher_is_better=True, noise=0.25) == "slightly worse"
    assert stats.verdict(small_fall, higher_is_better=False, noise=0.25) == "slightly better"
    assert stats.verdict(straddles, higher_is_better=True, noise=0.1) == "within noise"
    assert stats.verdict(stats.RatioCI(0.3, 0.2, 0.4), higher_is_better=True, noise=0.25) == "worse"


def test_pair_spread_is_zero_for_constant_ratios_and_grows_with_noise():
    assert stats.pair_spread([100, 50, 80, 60], [110, 55, 88, 66]) == pytest.approx(0.0, abs=1e-12)
    assert stats.pair_spread([100, 100, 100, 100], [80, 100, 120, 140]) > 0.2


def test_ratio_ci_refuses_too_few_samples():
    with pytest.raises(InputError, match="at least 2 samples"):
        stats.paired_ratio([1.0], [2.0])
    with pytest.raises(InputError, match="equal counts"):
        stats.paired_ratio([1.0, 2.0], [2.0, 3.0, 4.0])


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
