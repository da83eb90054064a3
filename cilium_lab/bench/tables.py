"""Tables from stored samples: per-metric summaries, and before against after with verdicts.

Called by `bench.measure`'s callers (labs, the CLI, the figures); calls `results.stats` and reads
frames from `results.store`. Both tables are pandas DataFrames with `attrs["simulated"]` set, so
whoever shows them can label them SIMULATED. Only ok samples count; failed ones are counted in
`failed`. Latency percentiles are aggregated as the median of per-sample values (column
`aggregation`), never as an average of p99s.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import pandas as pd

from cilium_lab.bench import netperf
from cilium_lab.errors import InputError
from cilium_lab.results import stats
from cilium_lab.results.store import ResultStore

KEYS = ["scenario", "test", "metric", "unit"]
SUMMARY_KEYS = ["lab", "phase", *KEYS]


def _frame(source: ResultStore | pd.DataFrame) -> pd.DataFrame:
    return source.frame() if isinstance(source, ResultStore) else source


def _simulated(frame: pd.DataFrame) -> bool:
    return bool(frame["simulated"].astype(bool).any()) if not frame.empty else False


def summary(
    source: ResultStore | pd.DataFrame, *, lab: str | None = None, phase: str | None = None, seed: int = 0
) -> pd.DataFrame:
    """Median with bootstrap CI per lab, phase, scenario, test and metric (one row each)."""
    frame = _frame(source)
    if lab is not None:
        frame = frame[frame["lab"] == lab]
    if phase is not None:
        frame = frame[frame["phase"] == phase]
    rows = []
    oks, values = frame["ok"].to_numpy().astype(bool), frame["value"].to_numpy()
    simulated = frame["simulated"].to_numpy().astype(bool)
    for key, members in _groups(frame, SUMMARY_KEYS, sort=False):
        ok = oks[members]
        s = stats.summarize(values[members][ok].tolist(), seed=seed)
        rows.append(
            dict(zip(SUMMARY_KEYS, key, strict=True))
            | {"median": s.median, "ci_low": s.ci_low, "ci_high": s.ci_high, "samples": s.n}
            | {"failed": int((~ok).sum()), "aggregation": stats.AGGREGATION}
            | {"simulated": bool(simulated[members].any())}
        )
    table = pd.DataFrame(
        rows,
        columns=[
            *SUMMARY_KEYS,
            "median",
            "ci_low",
            "ci_high",
            "samples",
            "failed",
            "aggregation",
            "simulated",
        ],
    )
    table.attrs["simulated"] = _simulated(frame)
    return table


def compare(
    source: ResultStore | pd.DataFrame,
    lab: str,
    before: str = "before",
    after: str = "after",
    *,
    tolerance: float = 0.05,
    seed: int = 0,
) -> pd.DataFrame:
    """After against before, one row per scenario, test and metric: ratio of medians with its CI,
    verdict and minimum detectable effect. With an "aa" phase in the same lab, its noise is used for
    the detectable effect and `aa_ratio` shows the drift between the A/A run and `before`."""
    if not 0 < tolerance < 1:
        raise InputError(f"tolerance must be a fraction between 0 and 1 (0.05 = ±5 %), got {tolerance!r}")
    frame = _frame(source)
    frame = frame[(frame["lab"] == lab) & frame["ok"].astype(bool)]
    phases = set(frame["phase"])
    for phase in (before, after):
        if phase not in phases:
            raise InputError(
                f"no ok samples for lab {lab!r} phase {phase!r}; measure it first (have: {sorted(phases)})"
            )
    phases, values = frame["phase"].to_numpy(), frame["value"].to_numpy()
    simulated = frame["simulated"].to_numpy().astype(bool)
    rows = []
    for key, members in _groups(frame, KEYS, sort=True):
        row = _compare_group(key, phases[members], values[members], before, after, tolerance, seed)
        if row is not None:
            rows.append(row | {"simulated": bool(simulated[members].any())})
    table = pd.DataFrame(rows)
    table.attrs["simulated"] = _simulated(frame)
    return table


def _groups(frame: pd.DataFrame, keys: list[str], *, sort: bool) -> Iterator[tuple[tuple, np.ndarray]]:
    """Each group's key and the positions of its rows, in the order of `frame.groupby(keys, sort=sort)`.
    Positions into numpy columns, not a DataFrame per group: building those cost more than the
    bootstrap (a batch summarises ~600 groups)."""
    number = frame.groupby(keys, sort=sort).ngroup().to_numpy()  # rows of a NaN key: NaN, in no group
    columns = frame[keys].to_numpy()
    order = np.argsort(number, kind="stable")
    counts = np.bincount(number[number >= 0].astype(np.int64))  # NaN sorts last
    start = 0
    for count in counts:
        members = order[start : start + count]
        start += count
        yield tuple(columns[members[0]]), members


def _compare_group(
    key: tuple, phases: np.ndarray, samples: np.ndarray, before: str, after: str, tolerance: float, seed: int
) -> dict | None:
    """The comparison's row for one group (the phase and value of each of its samples)."""
    values = {phase: samples[phases == phase].tolist() for phase in set(phases.tolist())}
    if before not in values or after not in values:
        return None
    metric = key[2]
    lower = metric in netperf.LOWER_IS_BETTER
    aa = values.get("aa") if "aa" not in (before, after) else None
    noise = stats.relative_noise(values[before], aa) if aa else None
    change = stats.compare_samples(
        values[before], values[after], lower_is_better=lower, tolerance=tolerance, seed=seed, noise_cv=noise
    )
    drift = stats.compare_samples(values[before], aa, seed=seed).ratio if aa else math.nan
    return dict(zip(KEYS, key, strict=True)) | {
        "n_before": change.n_before,
        "n_after": change.n_after,
        "median_before": change.median_before,
        "median_after": change.median_after,
        "ratio": change.ratio,
        "ci_low": change.ci_low,
        "ci_high": change.ci_high,
        "verdict": change.verdict,
        "mde": change.mde,
        "tolerance": tolerance,
        "noise_cv": change.noise_cv,
        "aa_ratio": drift,
        "lower_is_better": lower,
        "aggregation": stats.AGGREGATION,
    }
