"""One kernel for a whole batch of labs: a papermill engine that reuses a running kernel.

A lab's own work on the embedded cluster takes a second or two; starting a kernel and importing
pandas, plotly, scipy and the kubernetes client takes longer than that, every time. In a batch
(`cilium-lab run --all`) the labs run one after another in the same kernel, each still executed and
parameterised by papermill (its parameters cell injected, its outputs and errors recorded as
usual). Each lab assigns everything it uses in its own cells, so nothing it reads leaks in from the
one before. A kernel that died is replaced before the next lab. On POSIX the kernel talks over
Unix sockets in a private temporary folder (IPC transport) rather than TCP on 127.0.0.1: no port
another local user could reach, and no "running over TCP without encryption" warning from ipykernel 7.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from jupyter_client.manager import KernelManager
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, papermill_engines

ENGINE = "cilium-lab-shared-kernel"
# what every lab imports; loaded while the batch is still setting up (the embedded cluster starts meanwhile)
WARM_UP = (
    "import cilium_lab.session, cilium_lab.bench, cilium_lab.change.config.applying, cilium_lab.ui.figures\n"
    # SIGTERM raises KeyboardInterrupt in the kernel as SIGINT does, so cleanups (benchmark pods) run
    # before it ends; while a change runs, change.cancellation's handler takes over both signals
    "import signal; signal.signal(signal.SIGTERM, signal.default_int_handler)"
)


class SharedKernelEngine(NBClientEngine):
    """NBClientEngine, but with the batch's kernel manager instead of a new kernel per notebook."""

    km: ClassVar[KernelManager | None] = None
    warming: ClassVar[threading.Thread | None] = None

    @classmethod
    def execute_managed_notebook(cls, nb_man: Any, kernel_name: str, **kwargs: Any) -> Any:
        if cls.km is None:
            return super().execute_managed_notebook(nb_man, kernel_name, **kwargs)
        if cls.warming is not None:
            cls.warming.join()  # one client at a time talks to the kernel
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
    sockets = tempfile.mkdtemp(prefix="cilium-lab-kernel-") if os.name == "posix" else ""
    # an absolute socket prefix: the kernel runs in `cwd`, a relative one would differ from ours
    transport = {"transport": "ipc", "ip": os.path.join(sockets, "k")} if sockets else {}
    km = KernelManager(kernel_name=kernel_name, **transport)
    try:
        km.start_kernel(cwd=str(cwd))
    except BaseException:
        if sockets:
            shutil.rmtree(sockets, ignore_errors=True)
        raise
    warming = threading.Thread(target=_warm_up, args=(km,), name="warm-up", daemon=True)
    warming.start()  # the caller sets up the rest of the batch meanwhile
    SharedKernelEngine.km = km
    SharedKernelEngine.warming = warming
    try:
        yield ENGINE
    finally:
        SharedKernelEngine.km = None
        warming.join(timeout=60)
        km.shutdown_kernel(now=True)
        if sockets:
            shutil.rmtree(sockets, ignore_errors=True)


@contextlib.contextmanager
def forwarding_signals() -> Iterator[list[str]]:
    """While a batch runs in the shared kernel: SIGINT and SIGTERM sent to this process are passed on to
    the kernel (it runs in a session of its own, so a terminal's Ctrl-C does not reach it), where a
    change in progress rolls back and a second one stops the rollback. Yields the signals' names, so
    the batch stops after the lab; a third signal, or one with no kernel, interrupts this process."""
    got: list[str] = []
    if threading.current_thread() is not threading.main_thread():
        yield got
        return

    def handler(signum: int, _frame: Any) -> None:
        name = signal.Signals(signum).name
        got.append(name)
        km = SharedKernelEngine.km
        process = getattr(getattr(km, "provisioner", None), "process", None)
        if len(got) > 2 or process is None or process.poll() is not None:
            raise KeyboardInterrupt
        what = "stops the rollback" if len(got) > 1 else "cancels a change in progress, which rolls back"
        print(f"cilium-lab: {name}: passed to the lab's kernel ({what})", file=sys.stderr, flush=True)
        os.kill(process.pid, signum)

    old = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield got
    finally:
        for sig, previous in old.items():
            signal.signal(sig, previous)


def _warm_up(km: KernelManager) -> None:
    client = km.blocking_client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        client.execute_interactive(WARM_UP, silent=True, timeout=120)
    except (RuntimeError, TimeoutError):
        pass  # only a head start: the first lab imports what it needs anyway
    finally:
        client.stop_channels()
