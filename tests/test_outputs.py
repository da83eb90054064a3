"""Where commands write: folders checked before anything, created lazily and removed on refusal, and no
file the user did not name as output overwritten (results records, executed notebooks, walkthroughs)."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from cilium_lab import export, outputs
from cilium_lab.errors import InputError
from cilium_lab.session import record


def test_a_folder_is_checked_without_creating_it(tmp_path):
    assert outputs.check_folder(tmp_path / "a" / "b", "--out") == tmp_path / "a" / "b"
    assert not (tmp_path / "a").exists()
    (tmp_path / "f").write_text("x")
    for path, says in ((tmp_path / "f", "is a file"), (tmp_path / "f" / "sub", "cannot be created")):
        with pytest.raises(InputError, match=says):
            outputs.check_folder(path, "--out")
    with pytest.raises(InputError, match="must name a folder"):
        outputs.check_folder(" ", "--out")


def test_a_refusal_removes_only_the_empty_folders_it_made(tmp_path):
    (tmp_path / "old").mkdir()
    with pytest.raises(InputError), outputs.undo_new_folders(tmp_path / "old", tmp_path / "new" / "deep"):
        (tmp_path / "new" / "deep" / "run").mkdir(parents=True)
        raise InputError("refused")
    assert (tmp_path / "old").is_dir() and not (tmp_path / "new").exists()
    with pytest.raises(KeyboardInterrupt), outputs.undo_new_folders(tmp_path / "kept"):
        (tmp_path / "kept").mkdir()
        (tmp_path / "kept" / "samples.jsonl").write_text("{}\n")  # what was measured stays
        raise KeyboardInterrupt
    assert (tmp_path / "kept" / "samples.jsonl").is_file()
    with outputs.undo_new_folders(tmp_path / "done"):
        (tmp_path / "done").mkdir()
    assert (tmp_path / "done").is_dir()  # success keeps everything


def test_a_foreign_file_is_never_overwritten(tmp_path):
    mine = tmp_path / "06-bpf-host-routing.json"
    mine.write_text("my own notes")
    assert outputs.place(mine, record._record) == tmp_path / "06-bpf-host-routing-2.json"
    (tmp_path / "06-bpf-host-routing-2.json").write_text("more notes")
    assert outputs.place(mine, record._record) == tmp_path / "06-bpf-host-routing-3.json"
    mine.write_text(json.dumps({"lab": "06-bpf-host-routing", "run_id": "r1"}, indent=2))
    assert outputs.place(mine, record._record) == mine  # an earlier record of ours is replaced
    assert mine.read_text().startswith("{")
    assert outputs.place(tmp_path / "free.json", record._record) == tmp_path / "free.json"


def _notebook(path: Path) -> Path:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# a lab")])
    path.write_text(nbformat.writes(notebook))
    return path


def test_export_writes_beside_a_foreign_html_and_replaces_its_own(tmp_path):
    source = _notebook(tmp_path / "06-bpf-host-routing.ipynb")
    foreign = tmp_path / "06-bpf-host-routing.html"
    foreign.write_text("<html>the user's own page</html>")
    first = export.to_html(source)
    assert first == tmp_path / "06-bpf-host-routing-2.html"
    assert foreign.read_text() == "<html>the user's own page</html>"
    out = tmp_path / "out"
    out.mkdir()
    walkthrough = export.to_html(source, out / "06-bpf-host-routing.html")
    assert export.to_html(source, walkthrough) == walkthrough  # a rerun replaces its own walkthrough


def test_an_executed_notebook_of_another_origin_is_kept(tmp_path):
    from cilium_lab import labs

    user = _notebook(tmp_path / "06-bpf-host-routing.ipynb")
    assert not labs._executed(user)
    ours = json.loads(user.read_text())
    ours["metadata"]["papermill"] = {"input_path": "06-bpf-host-routing.ipynb"}
    user.write_text(json.dumps(ours))
    assert labs._executed(user)
