"""`change.files.write_atomic`, which writes the backups, the journals and each lab's result record: the
README says they are written to a temporary file, fsynced and renamed. Faults are injected at each step
(the write, the fsync, the rename): the file that was there stays byte for byte, no temporary file is
left, and the error is not swallowed; without a fault, the data is fsynced before the rename and the
folder after it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cilium_lab.change import files

OLD = '{"state": "the backup before"}\n'


def _folder(tmp_path):
    target = tmp_path / "backups" / "20250102-030405-000006-cilium-config.json"
    target.parent.mkdir()
    target.write_text(OLD)
    return target


@pytest.mark.parametrize("step", ["write", "fsync", "rename"])
def test_a_fault_at_each_step_keeps_the_old_file_whole_and_leaves_no_temporary(tmp_path, monkeypatch, step):
    target = _folder(tmp_path)

    class Fault(OSError):
        pass

    def fail(*args, **kwargs):
        raise Fault(28, f"injected at {step}: no space left on device")

    if step == "write":
        real_open = open

        def half_open(path, *args, **kwargs):
            handle = real_open(path, *args, **kwargs)
            handle.write = lambda text: (real_open(path, "a").write(text[:5]), fail())  # a torn write
            return handle

        monkeypatch.setattr("builtins.open", half_open)
    else:
        monkeypatch.setattr(os, {"fsync": "fsync", "rename": "replace"}[step], fail)
    with pytest.raises(Fault):
        files.write_atomic(target, '{"state": "the new one, much longer than the old"}\n')
    monkeypatch.undo()
    assert target.read_text() == OLD
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]


def test_the_data_is_fsynced_before_the_rename_and_the_folder_after(tmp_path, monkeypatch):
    target = _folder(tmp_path)
    calls: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        calls.append("fsync folder" if os.path.isdir(f"/proc/self/fd/{fd}") else "fsync data")
        real_fsync(fd)

    def replace(src, dst) -> None:
        assert (
            Path(src).read_text() == "new\n"
        )  # the whole text is in the temporary file before it is renamed
        calls.append("rename")
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    assert files.write_atomic(target, "new\n") == target
    assert calls == ["fsync data", "rename", "fsync folder"]
    assert target.read_text() == "new\n" and [p.name for p in target.parent.iterdir()] == [target.name]
