"""The lab registry and batch runs: which labs exist, and running them through papermill.

Called by the `labs`, `run` and `export` verbs and by tests. A batch on an embedded cluster starts one
cluster for the whole batch and hands its kubeconfig to every lab, so the steps accumulate on it as
they would on a real cluster. Each lab writes its result record itself (see `session`); this module
collects the executed notebooks, the records and, on request, the HTML walkthroughs.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cilium_lab import catalog, exit_codes, export, outputs, params, scrub, targets
from cilium_lab.errors import InputError
from cilium_lab.notebooks import LABS_DIR

_NAME = re.compile(r"^(?P<number>\d\d)-(?P<slug>[a-z0-9-]+)$")


@dataclass(frozen=True)
class Lab:
    number: int
    slug: str
    source: Path  # the jupytext source, cilium_lab/lab_notebooks/NN-slug.py

    @property
    def name(self) -> str:
        return f"{self.number:02d}-{self.slug}"

    @property
    def notebook(self) -> Path:
        return self.source.with_suffix(".ipynb")

    @property
    def title(self) -> str:
        for line in self.source.read_text().splitlines():
            if line.startswith("# # "):
                return line[4:].strip()
        return self.slug.replace("-", " ")


def all_labs(labs_dir: Path = LABS_DIR) -> list[Lab]:
    found = []
    for source in sorted(labs_dir.glob("[0-9][0-9]-*.py")):
        match = _NAME.match(source.stem)
        if match:
            found.append(Lab(int(match["number"]), match["slug"], source))
    return found


def get(name: str | int, labs_dir: Path = LABS_DIR) -> Lab:
    """A lab by number (6, "06"), full name ("06-bpf-host-routing") or slug ("bpf-host-routing")."""
    labs = all_labs(labs_dir)
    key = str(name).removesuffix(".ipynb").removesuffix(".py").rsplit("/", 1)[-1]
    for lab in labs:
        if key in (lab.name, lab.slug) or (key.isdigit() and int(key) == lab.number):
            return lab
    names = ", ".join(lab.name for lab in labs)
    raise InputError(f"unknown lab {name!r}: choose one of {names} (see `cilium-lab labs`)")


def copy_notebooks(folder: Path, *, overwrite: bool = False, labs_dir: Path = LABS_DIR) -> list[Path]:
    """Copy every lab's notebook into `folder` (created if missing), to open in JupyterLab; return the copies.
    An existing notebook there is kept, and nothing is copied, unless `overwrite`."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{folder} is a file, not a folder: choose a folder to copy the notebooks into")
    notebooks = [lab.notebook for lab in all_labs(labs_dir)]
    existing = [folder / nb.name for nb in notebooks if (folder / nb.name).exists()]
    if existing and not overwrite:
        more = f" and {len(existing) - 1} more" if len(existing) > 1 else ""
        raise InputError(
            f"{folder} already has {existing[0].name}{more}: pass --force to overwrite, or choose another folder"
        )
    folder.mkdir(parents=True, exist_ok=True)
    copies = []
    for notebook in notebooks:
        copies.append(folder / notebook.name)
        shutil.copyfile(notebook, copies[-1])
    return copies


@dataclass
class LabRun:
    lab: Lab
    executed: Path
    ok: bool
    seconds: float
    error: str = ""
    html: Path | None = None
    record: dict[str, Any] = field(default_factory=dict)
    error_name: str = ""  # the class of the error the notebook stopped with ("InputError", ...)

    @property
    def exit_code(self) -> int:
        """The README's exit code of this lab (`exit_codes.of_lab`); 1 when it failed and neither its record
        nor its error says why."""
        code = exit_codes.of_lab(self.record, self.error_name)
        return code or (exit_codes.OK if self.ok else exit_codes.INTERNAL)


def run(
    labs: Sequence[Lab],
    *,
    out_dir: Path,
    cluster: str = "sim:seed-mixed",
    kubeconfig: str = "",
    approve: bool = False,
    html: bool = False,
    seed: int = 0,
    parameters: Mapping[str, Any] | None = None,
    on_lab: Callable[[LabRun], None] | None = None,
    shared_kernel: bool = True,
    on_start: Callable[[], None] | None = None,
) -> list[LabRun]:
    """Execute labs in order through papermill; a failing lab is reported and the batch goes on.
    `on_start` is called once the inputs have been checked, before anything starts."""
    if not labs:
        raise InputError("no labs to run: name labs (see `cilium-lab labs`) or pass --all")
    targets.preflight(cluster, kubeconfig)  # before anything is started or written
    _check_local(labs, cluster)
    declared = _check_parameters(labs, parameters or {})
    outputs.check_folder(out_dir, "--out")
    if on_start:
        on_start()
    with outputs.undo_new_folders(out_dir):
        batch = _Batch(
            cluster, kubeconfig, approve, html, seed, dict(parameters or {}), on_lab, shared_kernel
        )
        return _run_all(labs, declared, out_dir, batch)


@dataclass(frozen=True)
class _Batch:
    """What `run` was asked, checked."""

    cluster: str
    kubeconfig: str
    approve: bool
    html: bool
    seed: int
    parameters: dict[str, Any]
    on_lab: Callable[[LabRun], None] | None
    shared_kernel: bool


def _run_all(
    labs: Sequence[Lab], declared: dict[str, set[str]], out_dir: Path, batch: _Batch
) -> list[LabRun]:
    cluster, approve, html, seed, on_lab = batch.cluster, batch.approve, batch.html, batch.seed, batch.on_lab
    kubeconfig, parameters = batch.kubeconfig, batch.parameters
    # the labs run in their notebooks' folder (cilium_lab/lab_notebooks): paths the caller gave relative
    # to theirs would land (or be looked for) there, so they are made absolute here
    out_dir = Path(out_dir).resolve()
    kubeconfig = str(Path(kubeconfig).resolve()) if kubeconfig else ""
    parameters = {k: _absolute(v) if k in PATH_PARAMETERS else v for k, v in (parameters or {}).items()}
    out_dir.mkdir(parents=True, exist_ok=True)
    results_dir = out_dir / "results"
    runs = []
    # the kernel first: it imports the library while the embedded cluster starts
    with (
        _kernel(labs, batch.shared_kernel) as engine,
        _batch_cluster(cluster, kubeconfig, seed) as batch_kubeconfig,
        _signals(batch.shared_kernel) as signals,
    ):
        for lab in labs:
            if signals:
                break  # a signal ends the batch after the lab it reached (its change rolled back)
            params = {
                "cluster": cluster,
                "kubeconfig": batch_kubeconfig,
                "approve": approve,
                "results_dir": str(results_dir),
                "seed": seed,
                **dict(parameters or {}),
            }
            lab_run = _run_one(
                lab, out_dir, {k: v for k, v in params.items() if k in declared[lab.name]}, engine
            )
            if html:
                lab_run.html = export.to_html(lab_run.executed)
            runs.append(lab_run)
            if on_lab:
                on_lab(lab_run)
    return runs


PATH_PARAMETERS = ("results_dir", "kubeconfig")


def _absolute(value: Any) -> Any:
    return str(Path(value).resolve()) if isinstance(value, str) and value else value


def _kernel(labs: Sequence[Lab], shared: bool) -> AbstractContextManager[str | None]:
    """The labs share one kernel (see `batch_kernel`), which talks over Unix sockets; shared=False gives
    each lab papermill's own kernel."""
    if shared:
        from cilium_lab import batch_kernel

        return batch_kernel.shared_kernel(labs[0].source.parent)
    return contextlib.nullcontext(None)


def _signals(shared: bool) -> AbstractContextManager[list[str]]:
    if shared:
        from cilium_lab import batch_kernel

        return batch_kernel.forwarding_signals()
    return contextlib.nullcontext([])


def _run_one(lab: Lab, out_dir: Path, params: dict[str, Any], engine: str | None) -> LabRun:
    import papermill

    executed = outputs.place(out_dir / f"{lab.name}.ipynb", _executed)
    started, since = time.monotonic(), time.time() - 1  # mtime's resolution may be coarse
    error = error_name = ""
    try:
        papermill.execute_notebook(
            str(lab.notebook),
            str(executed),
            parameters=params,
            kernel_name="python3",
            cwd=str(lab.source.parent),
            progress_bar=False,
            log_output=False,
            request_save_on_cell_execute=False,
            shutdown_kernel="immediate",
            engine_name=engine,
        )
    except Exception as err:  # papermill raises its own error types; the notebook keeps the details
        error, error_name = _one_line(err), str(getattr(err, "ename", type(err).__name__))
    if executed.is_file():
        scrub.scrub_notebook(executed)  # outputs and error messages may echo a server URL or a token
    record = _read_record(Path(params["results_dir"]), lab, since)
    if error_name and not record:
        _load_error_classes()  # so that exit_codes knows the notebook's error by its class name
    return LabRun(
        lab, executed, not error, time.monotonic() - started, error, record=record, error_name=error_name
    )


def _load_error_classes() -> None:
    import cilium_lab.session  # noqa: F401  (imports every layer, hence every LabError subclass)


def _executed(path: Path) -> bool:
    """An executed notebook of ours (papermill's metadata): a rerun replaces it."""
    try:
        return "papermill" in json.loads(path.read_text()).get("metadata", {})
    except (OSError, ValueError, AttributeError):
        return False


def local_labs(labs: Sequence[Lab]) -> list[Lab]:
    """Those of `labs` whose step has a local kernel equivalent (cluster="local")."""
    accepted = set(_local_names())
    return [lab for lab in labs if lab.name in accepted]


def _local_names() -> list[str]:
    from cilium_lab.session.local_kernel import local_labs as names  # session is heavy: only when asked

    return names()


def _check_local(labs: Sequence[Lab], cluster: str) -> None:
    """On cluster="local", a lab with no host-level equivalent is refused up front, not failed inside."""
    if targets.parse(cluster).kind != "local":
        return
    accepted = _local_names()
    refused = [lab.name for lab in labs if lab.name not in accepted]
    if refused:
        raise InputError(
            f"{', '.join(refused)} {'has' if len(refused) == 1 else 'have'} no local kernel equivalent: "
            f"on --cluster local choose from {', '.join(accepted)}, or use a cluster (e.g. sim:seed-mixed)"
        )


def _check_parameters(labs: Sequence[Lab], parameters: Mapping[str, Any]) -> dict[str, set[str]]:
    """Each lab's declared parameters; a -p NAME that no chosen lab declares is an error, not a warning.
    A lab gets only the parameters it declares, so `--all -p mtu 9000` reaches lab 09 alone."""
    import papermill

    declared = {lab.name: set(papermill.inspect_notebook(str(lab.notebook))) for lab in labs}
    unknown = [name for name in parameters if not any(name in names for names in declared.values())]
    if unknown:
        where = labs[0].notebook if len(labs) == 1 else labs[0].notebook.with_name("<lab>.ipynb")
        raise InputError(
            f"no chosen lab has a parameter {', '.join(unknown)}: see `papermill --help-notebook {where}`"
        )
    # each value as the lab's item declares it (`params.build`): a bad one stops the batch now
    for lab in labs:
        params.build(
            catalog.for_lab(lab.name), **{k: v for k, v in parameters.items() if k in declared[lab.name]}
        )
    return declared


def _read_record(results_dir: Path, lab: Lab, since: float) -> dict[str, Any]:
    """The record this run of the lab wrote: none when it wrote none (an older one, or a file of another
    origin, says nothing about this run)."""
    path = results_dir / f"{lab.name}.json"
    try:
        if path.stat().st_mtime < since:
            return {}
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) and "run_id" in record else {}


def _one_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    ename = getattr(err, "ename", type(err).__name__)
    evalue = getattr(err, "evalue", text[-1] if text else "")
    return f"{ename}: {evalue}"


def _batch_cluster(cluster: str, kubeconfig: str, seed: int) -> AbstractContextManager[str]:
    """One embedded cluster for a whole batch on `sim:`; otherwise the given kubeconfig as is."""
    spec = targets.parse(cluster)
    if spec.kind == "sim" and not kubeconfig:
        return targets.embedded_kubeconfig(spec.profile, seed)
    return contextlib.nullcontext(kubeconfig)
