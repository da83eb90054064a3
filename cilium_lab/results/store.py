"""The results store: every sample a tidy row, appended and flushed as it is measured.

Called by `bench.runner` and `locallab.knob_runs` (append rows and fingerprints), `bench.tables`,
`locallab.knob_runs` and the figures (read frames), the labs (export); calls pandas/pyarrow. Each row
says where it was measured (`label`: SIMULATED, LIVE CLUSTER or LOCAL KERNEL), so a figure of one
kind is never drawn from another's numbers. Layout: `<results_dir>/<run_id>/samples.jsonl`
(one JSON object per line, one line per sample and metric, flushed and fsynced per line so an
interrupted run keeps every finished sample) and `<results_dir>/<run_id>/fingerprints.jsonl` (one
environment fingerprint per lab and phase). A failed sample is stored too, with `ok` false, the
reason and no value, so it can be counted but never averaged (netbench.md §8.4: never lose samples).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from cilium_lab import scrub
from cilium_lab.errors import InputError
from cilium_lab.results.labels import LABELS

SAMPLES_FILE = "samples.jsonl"
FINGERPRINTS_FILE = "fingerprints.jsonl"
_WORD = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class SampleRow:
    """One metric of one sample. `value` is None when the sample failed (`ok` False, `reason` set)."""

    run_id: str
    lab: str
    phase: str  # "before" | "after" | "aa" (or another word the lab chooses)
    scenario: str
    test: str
    streams: int
    metric: str
    value: float | None
    unit: str
    client_node: str
    server_node: str
    sample: int  # 0-based index within this lab, phase, scenario and test
    timestamp: float  # wall clock, seconds since the epoch, when the sample finished
    ok: bool
    reason: str
    simulated: bool
    duration: int  # netperf -l seconds
    label: str = ""  # SIMULATED | LIVE CLUSTER | LOCAL KERNEL; "" in rows written before it existed

    def __post_init__(self) -> None:
        if self.label not in ("", *LABELS):
            raise InputError(f"label must be one of {', '.join(LABELS)}, got {self.label!r}")


COLUMNS = tuple(SampleRow.__dataclass_fields__)


def new_run_id() -> str:
    """A sortable, unique run id: UTC time plus random hex."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + secrets.token_hex(3)


def check_word(value: object, what: str) -> str:
    if not isinstance(value, str) or not _WORD.match(value):
        raise InputError(f"{what} must be a short word of letters, digits, '.', '_' or '-', got {value!r}")
    return value


class ResultStore:
    """The samples and fingerprints of one run, under `<results_dir>/<run_id>/`."""

    def __init__(self, results_dir: str | os.PathLike[str], run_id: str | None = None) -> None:
        self.run_id = check_word(run_id or new_run_id(), "run_id")
        self.results_dir = Path(results_dir)
        self.path = (
            self.results_dir / self.run_id
        )  # made by the first line written: a refused run leaves none

    @property
    def samples_path(self) -> Path:
        return self.path / SAMPLES_FILE

    def append(self, row: SampleRow) -> None:
        """Write one row and make it durable before returning."""
        self.append_all([row])

    def append_all(self, rows: Sequence[SampleRow]) -> None:
        """Write rows (one sample's metrics) and make them durable together: one fsync, not one per row
        (an fsync takes milliseconds of wall time; a batch writes thousands of rows)."""
        for row in rows:
            if row.run_id != self.run_id:
                raise InputError(f"row belongs to run {row.run_id!r}, this store holds run {self.run_id!r}")
        _append_lines(self.samples_path, [asdict(row) for row in rows])

    def add_fingerprint(self, *, lab: str, phase: str, fingerprint: Mapping[str, Any]) -> None:
        record = {"run_id": self.run_id, "lab": lab, "phase": phase, "timestamp": time.time(), **fingerprint}
        _append_line(self.path / FINGERPRINTS_FILE, record)

    def frame(self) -> pd.DataFrame:
        """All rows of this run as a DataFrame with the columns of `SampleRow`."""
        return read_samples(self.samples_path)

    def fingerprints(self) -> list[dict[str, Any]]:
        return _read_lines(self.path / FINGERPRINTS_FILE)

    def export(self, directory: str | os.PathLike[str] | None = None) -> dict[str, Path]:
        """Write samples.parquet and samples.csv (next to the JSON Lines file unless told otherwise)."""
        target = Path(directory) if directory else self.path
        target.mkdir(parents=True, exist_ok=True)
        frame = self.frame()
        paths = {"parquet": target / "samples.parquet", "csv": target / "samples.csv"}
        frame.to_parquet(paths["parquet"], index=False)
        frame.to_csv(paths["csv"], index=False)
        return paths


def read_samples(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Rows of one samples.jsonl; a torn last line (the run was killed mid-write) is skipped."""
    frame = pd.DataFrame(_read_lines(Path(path)), columns=list(COLUMNS))
    frame["value"] = pd.to_numeric(frame["value"], errors="coerce")
    return frame


def load_all(results_dir: str | os.PathLike[str]) -> pd.DataFrame:
    """Every run under results_dir, one frame (for the performance journey across labs)."""
    frames = [read_samples(p) for p in sorted(Path(results_dir).glob(f"*/{SAMPLES_FILE}"))]
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(COLUMNS))


def _append_line(path: Path, record: Mapping[str, Any]) -> None:
    _append_lines(path, [record])


def _append_lines(path: Path, records: Sequence[Mapping[str, Any]]) -> None:
    # no credential reaches a file
    text = "".join(scrub.dumps(record, default=str, allow_nan=False) + "\n" for record in records)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def _read_lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            continue  # a line torn by an interrupted write
    return records
