"""The results store (durable JSON Lines, DataFrame, Parquet/CSV) and the tables built from it."""

import dataclasses
import json
import math
import os

import numpy as np
import pandas as pd
import pytest

from cilium_lab.bench import tables
from cilium_lab.errors import InputError
from cilium_lab.results.labels import LOCAL_KERNEL
from cilium_lab.results.store import COLUMNS, ResultStore, SampleRow, load_all


def row(
    store: ResultStore,
    *,
    phase: str,
    value: float | None,
    sample: int = 0,
    metric: str = "throughput",
    lab: str = "06",
    ok: bool = True,
    test: str = "TCP_STREAM",
) -> SampleRow:
    return SampleRow(
        run_id=store.run_id,
        lab=lab,
        phase=phase,
        scenario="pod-to-pod",
        test=test,
        streams=1,
        metric=metric,
        value=value,
        unit="Mbit/s" if metric == "throughput" else "us",
        client_node="vm-2",
        server_node="vm-3",
        sample=sample,
        timestamp=1.0,
        ok=ok,
        reason="" if ok else "netperf exited with code 255",
        simulated=True,
        duration=10,
    )


def fill(store: ResultStore, phase: str, values, **kw) -> None:
    for i, v in enumerate(values):
        store.append(row(store, phase=phase, value=float(v), sample=i, **kw))


def test_every_append_is_on_disk_before_it_returns(tmp_path):
    store = ResultStore(tmp_path, "run-1")
    store.append(row(store, phase="before", value=900.0))
    lines = (tmp_path / "run-1" / "samples.jsonl").read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["value"] == 900.0


def test_one_samples_rows_are_written_together_with_one_fsync(tmp_path, monkeypatch):
    store = ResultStore(tmp_path, "run-1")
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    store.append_all([row(store, phase="before", value=v, sample=3) for v in (1.0, 2.0, 3.0)])
    assert len(synced) == 1
    assert list(store.frame()["value"]) == [1.0, 2.0, 3.0]
    other = ResultStore(tmp_path, "run-2")
    with pytest.raises(InputError, match="belongs to run 'run-2'"):
        store.append_all([row(store, phase="after", value=4.0), row(other, phase="after", value=5.0)])
    assert len(store.frame()) == 3  # a batch with a stranger's row writes nothing


def test_a_torn_last_line_loses_only_that_line(tmp_path):
    store = ResultStore(tmp_path, "run-1")
    fill(store, "before", [900, 910])
    with store.samples_path.open("a") as handle:
        handle.write('{"run_id": "run-1", "val')  # killed mid-write
    assert store.frame()["value"].tolist() == [900.0, 910.0]


def test_failed_samples_are_kept_without_a_value(tmp_path):
    store = ResultStore(tmp_path, "run-1")
    store.append(row(store, phase="before", value=None, ok=False))
    frame = store.frame()
    assert list(frame.columns) == list(COLUMNS)
    assert not frame["ok"].iloc[0] and math.isnan(frame["value"].iloc[0])


def test_export_writes_parquet_and_csv_that_read_back(tmp_path):
    store = ResultStore(tmp_path, "run-1")
    fill(store, "before", [900, 910, 905])
    paths = store.export()
    assert pd.read_parquet(paths["parquet"])["value"].tolist() == [900.0, 910.0, 905.0]
    assert len(pd.read_csv(paths["csv"])) == 3


def test_fingerprints_are_stored_per_phase(tmp_path):
    store = ResultStore(tmp_path, "run-1")
    store.add_fingerprint(lab="06", phase="before", fingerprint={"config_hash": "abc"})
    assert store.fingerprints()[0] | {"timestamp": 0} == {
        "run_id": "run-1",
        "lab": "06",
        "phase": "before",
        "config_hash": "abc",
        "timestamp": 0,
    }


def test_rows_of_another_run_and_bad_run_ids_are_refused(tmp_path):
    store = ResultStore(tmp_path, "run-1")
    other = ResultStore(tmp_path, "run-2")
    with pytest.raises(InputError, match="belongs to run 'run-2'"):
        store.append(row(other, phase="before", value=1.0))
    with pytest.raises(InputError, match="run_id must be"):
        ResultStore(tmp_path, "../escape")


def test_load_all_reads_every_run(tmp_path):
    for run in ("a", "b"):
        fill(ResultStore(tmp_path, run), "before", [1, 2])
    assert sorted(set(load_all(tmp_path)["run_id"])) == ["a", "b"]
    assert load_all(tmp_path / "nothing").empty


def test_summary_has_median_ci_and_failed_counts(tmp_path):
    store = ResultStore(tmp_path, "run-1")
    fill(store, "before", [900, 910, 920, 930, 940])
    store.append(row(store, phase="before", value=None, ok=False, sample=5))
    table = tables.summary(store)
    assert len(table) == 1
    got = table.iloc[0]
    assert (got["median"], got["samples"], got["failed"]) == (920.0, 5, 1)
    assert got["ci_low"] <= 920 <= got["ci_high"]
    assert table.attrs["simulated"] is True


def test_compare_gives_ratio_verdict_and_drift_from_an_aa_phase(tmp_path):
    store = ResultStore(tmp_path, "run-1")
    rng = np.random.default_rng(0)
    fill(store, "before", rng.normal(1000, 10, 8))
    fill(store, "aa", rng.normal(1000, 10, 8))
    fill(store, "after", rng.normal(1500, 15, 8))
    fill(store, "before", rng.normal(50, 1, 8), metric="latency_p99", test="TCP_RR")
    fill(store, "after", rng.normal(60, 1, 8), metric="latency_p99", test="TCP_RR")
    table = tables.compare(store, "06").set_index("metric")
    assert table.loc["throughput", "verdict"] == "improved"
    assert table.loc["throughput", "ratio"] == pytest.approx(1.5, rel=0.03)
    assert table.loc["throughput", "aa_ratio"] == pytest.approx(1.0, abs=0.03)
    assert table.loc["latency_p99", "verdict"] == "regressed" and table.loc["latency_p99", "lower_is_better"]
    assert math.isnan(table.loc["latency_p99", "aa_ratio"])
    aa = tables.compare(store, "06", before="before", after="aa").set_index("metric")
    assert aa.loc["throughput", "verdict"] == "no detectable change"


def test_compare_without_the_phases_says_what_to_measure(tmp_path):
    store = ResultStore(tmp_path, "run-1")
    fill(store, "before", [1, 2, 3])
    with pytest.raises(InputError, match="no ok samples for lab '06' phase 'after'"):
        tables.compare(store, "06")
    with pytest.raises(InputError, match="tolerance"):
        tables.compare(store, "06", tolerance=5)


def test_a_row_says_where_it_was_measured_and_nothing_else(tmp_path):
    store = ResultStore(tmp_path, run_id="r1")
    store.append(dataclasses.replace(row(store, phase="A", value=1.0), label=LOCAL_KERNEL, simulated=False))
    assert store.frame()["label"].tolist() == ["LOCAL KERNEL"]
    with pytest.raises(InputError, match="label must be one of SIMULATED, LIVE CLUSTER, LOCAL KERNEL"):
        dataclasses.replace(row(store, phase="A", value=1.0), label="REAL")


def test_rows_written_before_labels_existed_still_read(tmp_path):
    store = ResultStore(tmp_path, run_id="r1")
    old = dataclasses.asdict(row(store, phase="before", value=1.0))
    del old["label"]
    store.path.mkdir(parents=True)
    store.samples_path.write_text(json.dumps(old) + "\n")
    frame = store.frame()
    assert frame["value"].tolist() == [1.0] and frame["label"].isna().all()
