"""The batch's shared kernel: papermill runs notebooks in it, and it leaves nothing behind."""

from __future__ import annotations

import os

import nbformat
import papermill
import pytest

from cilium_lab import batch_kernel


def notebook(path, source: str) -> str:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return str(path)


@pytest.mark.skipif(os.name != "posix", reason="Unix sockets")
def test_two_notebooks_share_one_kernel_over_unix_sockets_and_nothing_is_left(tmp_path):
    first, second = (
        notebook(tmp_path / "a.ipynb", "import os\nPID = os.getpid()"),
        notebook(tmp_path / "b.ipynb", "print(os.getpid() == PID)"),
    )
    with batch_kernel.shared_kernel(tmp_path) as engine:
        km = batch_kernel.SharedKernelEngine.km
        assert km.transport == "ipc"
        sockets = os.path.dirname(km.ip)  # this kernel's private folder (other tests may run their own)
        assert os.path.basename(sockets).startswith("cilium-lab-kernel-") and os.path.isdir(sockets)
        papermill.execute_notebook(first, tmp_path / "a.out.ipynb", engine_name=engine, progress_bar=False)
        out = papermill.execute_notebook(
            second, tmp_path / "b.out.ipynb", engine_name=engine, progress_bar=False
        )
    assert out.cells[0].outputs[0]["text"] == "True\n"  # the same kernel process ran both
    assert not os.path.exists(sockets)
