"""`bench.tables` splits a frame into groups by row positions: the same groups, keys, rows and order as
`DataFrame.groupby` gives."""

import numpy as np
import pandas as pd
import pytest

from cilium_lab.bench import tables


def frame() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    n = 60
    return pd.DataFrame(
        {
            "lab": rng.choice(["06-bpf-host-routing", "01-native-routing"], n),
            "phase": rng.choice(["before", "after", "aa"], n),
            "scenario": rng.choice(["pod-to-pod", "pod-to-service", None], n),  # None: in no group
            "test": rng.choice(["TCP_RR", "TCP_STREAM"], n),
            "value": rng.normal(100, 5, n),
        },
        index=rng.permutation(np.arange(1000, 1000 + n)),  # a slice of a bigger frame, out of order
    )


@pytest.mark.parametrize("sort", [True, False])
def test_groups_are_those_of_groupby_in_its_order(sort):
    data = frame()
    keys = ["lab", "phase", "scenario", "test"]
    expected = [(key, list(group["value"])) for key, group in data.groupby(keys, sort=sort)]
    values = data["value"].to_numpy()
    got = [(key, list(values[members])) for key, members in tables._groups(data, keys, sort=sort)]
    assert got == expected
    assert len(got) > 10 and sum(len(v) for _, v in got) < len(data)  # some rows had no scenario


def test_no_rows_no_groups():
    assert list(tables._groups(frame().iloc[0:0], ["lab", "phase"], sort=False)) == []
