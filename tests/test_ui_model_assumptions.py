"""What a lab shows of the model's assumptions next to a simulated comparison (ui.model_assumptions).

Reads the real data/perfmodel.yaml: every tuning step says its basis, the entries it applies with
their values and sources, and that the numbers are SIMULATED.
"""

from __future__ import annotations

import pytest
import yaml

from cilium_lab import catalog
from cilium_lab.ui import model_assumptions

DATA = yaml.safe_load(model_assumptions.PERFMODEL_FILE.read_text())


@pytest.mark.parametrize("item", [i.id for i in catalog.TUNINGS])
def test_every_tuning_lab_has_its_assumptions_with_a_basis(item: str) -> None:
    text = model_assumptions.markdown(item)
    assert "SIMULATED" in text and "- basis: " in text and "- published: " in text
    table = model_assumptions.assumptions(item)
    assert list(table["model entry"]) == DATA["steps"][item]["effects"]
    assert (table["basis"] != "").all(), table


def test_the_conntrack_step_shows_the_values_the_model_applies() -> None:
    table = model_assumptions.assumptions("bypass-iptables-conntrack").set_index("model entry")
    crr = DATA["effects"]["legacy_iptables_conntrack"]["crr"]
    assert f"crr x{crr}" in table.loc["legacy_iptables_conntrack", "values"]
    assert "measured here" in table.loc["legacy_iptables_conntrack", "basis"]
    assert "1.07–1.16" in model_assumptions.markdown("bypass-iptables-conntrack")


def test_host_tables_show_every_row_and_their_basis() -> None:
    table = model_assumptions.assumptions("host-tuning").set_index("model entry")
    assert table.loc["governor", "basis"] == DATA["host"]["governor"]["basis"]
    assert "other: stream 0.97" in table.loc["governor", "values"]


def test_a_view_of_the_series_has_no_assumptions() -> None:
    assert model_assumptions.markdown("overview") == ""
    assert model_assumptions.assumptions("summary").empty
