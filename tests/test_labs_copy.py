"""`cilium-lab labs --copy DIR`: the notebooks land where JupyterLab opens them; nothing is overwritten
unless asked, and a refusal changes nothing."""

from __future__ import annotations

from cilium_lab import labs
from cilium_lab.cli import main


def test_copy_puts_every_notebook_in_the_folder(tmp_path, capsys):
    assert main(["labs", "--copy", str(tmp_path / "mine")]) == 0
    copied = sorted(p.name for p in (tmp_path / "mine").iterdir())
    assert copied == [lab.notebook.name for lab in labs.all_labs()]
    assert (tmp_path / "mine" / "06-bpf-host-routing.ipynb").read_bytes() == labs.get(6).notebook.read_bytes()
    assert "copied 17 notebooks" in capsys.readouterr().out


def test_an_existing_notebook_is_kept_unless_forced(tmp_path, capsys):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "06-bpf-host-routing.ipynb").write_text("my edits")
    assert main(["labs", "--copy", str(folder)]) == 2
    err = capsys.readouterr().err.strip()
    assert (
        err
        == f"cilium-lab: error: {folder} already has 06-bpf-host-routing.ipynb: pass --force to overwrite, or choose another folder"
    )
    assert [p.name for p in folder.iterdir()] == ["06-bpf-host-routing.ipynb"]  # nothing else copied
    assert (folder / "06-bpf-host-routing.ipynb").read_text() == "my edits"

    assert main(["labs", "--copy", str(folder), "--force"]) == 0
    assert (folder / "06-bpf-host-routing.ipynb").read_bytes() == labs.get(6).notebook.read_bytes()


def test_bad_targets_are_one_line_errors(tmp_path, capsys):
    (tmp_path / "a-file").write_text("")
    assert main(["labs", "--copy", str(tmp_path / "a-file")]) == 2
    assert main(["labs", "--force"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == [
        f"cilium-lab: error: {tmp_path / 'a-file'} is a file, not a folder: choose a folder to copy the notebooks into",
        "cilium-lab: error: --force applies only with --copy DIR: add --copy DIR, or leave --force out",
    ]
