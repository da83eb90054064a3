"""`cilium-lab bench` on the embedded cluster: table and JSON output, SIMULATED labels, bad input."""

import json

from cilium_lab.cli import main


def test_json_records_carry_medians_cis_and_the_simulated_flag(tmp_path, capsys):
    argv = ["bench", "--cluster", "sim:bench-2021", "--tests", "TCP_RR", "--samples", "3", "--duration", "5"]
    assert main([*argv, "--json", "--results-dir", str(tmp_path)]) == 0
    records = json.loads(capsys.readouterr().out)
    rate = next(r for r in records if r["metric"] == "transaction_rate")
    assert rate["test"] == "TCP_RR" and rate["scenario"] == "pod-to-pod" and rate["unit"] == "trans/s"
    assert rate["ci_low"] <= rate["median"] <= rate["ci_high"] and rate["samples"] == 3
    assert all(r["simulated"] is True for r in records)
    (run,) = tmp_path.iterdir()
    assert {p.name for p in run.iterdir()} >= {
        "samples.jsonl",
        "samples.parquet",
        "samples.csv",
        "fingerprints.jsonl",
    }


def test_table_output_says_simulated(tmp_path, capsys):
    argv = [
        "bench",
        "--cluster",
        "sim:bench-2021",
        "--tests",
        "TCP_STREAM",
        "--samples",
        "2",
        "--duration",
        "5",
    ]
    assert main([*argv, "--results-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("SIMULATED") and "TCP_STREAM" in out and "throughput" in out


def test_fractional_duration_is_one_clear_error_and_changes_nothing(tmp_path, capsys):
    assert main(["bench", "--duration", "2.5", "--results-dir", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert (
        err.strip()
        == "cilium-lab: error: duration must be a whole number of seconds from 1 to 3600 (like 10), got 2.5"
    )
    assert not (tmp_path / "r").exists()
