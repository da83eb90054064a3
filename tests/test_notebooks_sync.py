"""The committed notebooks are generated from their jupytext sources, outputs stripped."""

import json

from cilium_lab import notebooks

SOURCE = """# %% [markdown]
# # 42 A test lab

# %% tags=["parameters"]
cluster: str = "sim:seed-mixed"  # which cluster

# %%
print(cluster)
"""


def test_committed_notebooks_agree_with_their_sources():
    assert notebooks.check() == []


def test_committed_notebooks_have_no_outputs():
    for source in notebooks.sources():
        nb = json.loads(source.with_suffix(".ipynb").read_text())
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                assert cell["outputs"] == [] and cell["execution_count"] is None, source.name


def test_sync_writes_then_check_detects_drift(tmp_path):
    (tmp_path / "42-test.py").write_text(SOURCE)
    assert [p.name for p in notebooks.sync(tmp_path)] == ["42-test.ipynb"]
    assert notebooks.check(tmp_path) == []
    assert notebooks.sync(tmp_path) == []  # idempotent
    (tmp_path / "42-test.py").write_text(SOURCE.replace("which cluster", "the cluster"))
    assert notebooks.check(tmp_path) == ["42-test.ipynb differs from 42-test.py: run `make notebooks`"]


def test_generated_notebook_keeps_the_parameters_tag(tmp_path):
    (tmp_path / "42-test.py").write_text(SOURCE)
    notebooks.sync(tmp_path)
    nb = json.loads((tmp_path / "42-test.ipynb").read_text())
    tagged = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1
    assert nb["metadata"]["kernelspec"]["name"] == "python3"


def test_orphan_notebook_is_reported(tmp_path):
    (tmp_path / "43-orphan.ipynb").write_text("{}")
    assert notebooks.check(tmp_path) == ["43-orphan.ipynb has no jupytext source 43-orphan.py"]
