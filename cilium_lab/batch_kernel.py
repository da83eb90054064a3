"""One kernel for a whole batch of labs: a papermill engine that reuses a running kernel.

A lab's own work on the embedded cluster takes a second or two; starting a kernel and importing
pandas, plotly, scipy and the kubernetes client takes longer than that, every time. In a batch
(`cilium-lab run --all`) the labs run one after another in the same kernel, each still executed and
parameterised by papermill (its parameters cell injected, its outputs and errors recorded as
usual). Each lab assigns everything it uses in its own cells, so nothing it reads leaks in from the
one before. A kernel that died is replaced before the next lab.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from jupyter_client.manager import KernelManager
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, papermill_engines

ENGINE = "cilium-lab-shared-kernel"


class SharedKernelEngine(NBClientEngine):
    """NBClientEngine, but with the batch's kernel manager instead of a new kernel per notebook."""

    km: ClassVar[KernelManager | None] = None

    @classmethod
    def execute_managed_notebook(cls, nb_man: Any, kernel_name: str, **kwargs: Any) -> Any:
        if cls.km is None:
            return super().execute_managed_notebook(nb_man, kernel_name, **kwargs)
        if not cls.km.is_alive():
            cls.km.restart_kernel(now=True)
        timeout = kwargs.pop("execution_timeout", None)
        start_timeout = kwargs.pop("start_timeout", 60)
        for unused in (
            "input_path",
            "stdout_file",
            "stderr_file",
            "log_output",
            "timeout",
            "startup_timeout",
        ):
            kwargs.pop(unused, None)
        client = PapermillNotebookClient(
            nb_man,
            km=cls.km,
            kernel_name=kernel_name,
            timeout=timeout,
            startup_timeout=start_timeout,
            **kwargs,
        )
        return client.execute()


papermill_engines.register(ENGINE, SharedKernelEngine)


@contextlib.contextmanager
def shared_kernel(cwd: Path, kernel_name: str = "python3") -> Iterator[str]:
    """Start the batch's kernel in `cwd`; yield the engine name to pass to papermill; shut it down."""
    km = KernelManager(kernel_name=kernel_name)
    km.start_kernel(cwd=str(cwd))
    SharedKernelEngine.km = km
    try:
        yield ENGINE
    finally:
        SharedKernelEngine.km = None
        km.shutdown_kernel(now=True)
