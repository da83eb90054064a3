"""The copy of lab 06 that the browser test opens: the generated notebook plus two marked cells.

Used by tests/test_browser_lab06.py. Each JupyterLab kernel starts its own embedded cluster from the
profile, where labs 02 and 03 (kube-proxy replacement, BPF masquerading) have not run, so lab 06 would
plan nothing. The SETUP cell, after the session starts, applies those two steps through the library
as the series would have. Cilium 1.13 then turns BPF host routing on by itself where the kernel
allows, which would leave lab 06 nothing to change; so the cell also pins legacy host routing
(`bpf.hostLegacyRouting=true`, as an operator may have), and prints the value lab 06 changes. The
CHECK cell, after
the verification, reads the same value and the session's decision in the kernel, where the embedded
cluster lives. Each prints one line "<MARK> <json>" that the test reads from the page.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat

LAB = "06-bpf-host-routing"
SETUP, CHECK = "BROWSER-SETUP", "BROWSER-CHECK"
KEY = "enable-host-legacy-routing"

SETUP_SOURCE = f"""\
# {SETUP}: added by the browser test. Labs 02 and 03 first, on this kernel's embedded cluster,
# then legacy host routing pinned, so that lab 06 has something to change.
import json
from cilium_lab.change import apply as applying, plan as planning
from cilium_lab.cluster import snapshot as snapshots
for item, target in (("kube-proxy-replacement", None), ("bpf-masquerade", None),
                     ("bpf-host-routing", {{"host_legacy_routing": True}})):
    plan = planning.plan(snapshots.take(lab.target.connection), item, target=target)
    print(item, target, applying.apply(lab.target.connection, plan, approved=True, results_dir=results_dir).outcome)
config = snapshots.take(lab.target.connection).config
print("{SETUP} " + json.dumps({{"{KEY}": config.get("{KEY}", "(absent)")}}))
"""

CHECK_SOURCE = f"""\
# {CHECK}: added by the browser test. The cluster's state and the session's decision, in this kernel.
config = snapshots.take(lab.target.connection).config
print("{CHECK} " + json.dumps({{
    "decision": lab.decision, "outcome": getattr(lab.report, "outcome", None),
    "{KEY}": config.get("{KEY}", "(absent)"),
}}))
"""


def _index(cells: list, needle: str) -> int:
    for i, cell in enumerate(cells):
        if cell.cell_type == "code" and needle in cell.source:
            return i
    raise LookupError(f"no code cell with {needle!r} in {LAB}.ipynb: the browser test needs one")


def write(labs: Path, folder: Path) -> Path:
    """Write lab 06 with the SETUP and CHECK cells into `folder`; returns the notebook's path."""
    notebook = nbformat.read(labs / f"{LAB}.ipynb", as_version=4)
    cells = notebook.cells
    cells.insert(_index(cells, "session.start(") + 1, nbformat.v4.new_code_cell(SETUP_SOURCE))
    cells.insert(_index(cells, "lab.verify()") + 1, nbformat.v4.new_code_cell(CHECK_SOURCE))
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{LAB}.ipynb"
    nbformat.write(notebook, target)
    return target


def missing_steps(labs: Path, session_class: type) -> list[str]:
    """The `lab.<step>()` calls in lab 06 that `session_class` does not have (yet)."""
    notebook = nbformat.read(labs / f"{LAB}.ipynb", as_version=4)
    calls = {
        m
        for cell in notebook.cells
        if cell.cell_type == "code"
        for m in re.findall(r"\blab\.(\w+)\(", cell.source)
    }
    return sorted(c for c in calls if not hasattr(session_class, c))


def marked(text: str, mark: str) -> dict | None:
    """The JSON a SETUP or CHECK cell printed, from its output's text; None when it printed none."""
    found = re.search(rf"^{mark} (\{{.*\}})$", text, re.MULTILINE)
    return json.loads(found.group(1)) if found else None
