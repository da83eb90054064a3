"""The copy of lab 06 that the browser test opens: the generated notebook plus two marked cells.

Used by tests/test_browser_lab06.py. Each JupyterLab kernel starts its own embedded cluster from the
profile; `session.start` catches it up with the earlier steps (labs 01-05). Cilium 1.13 then turns BPF
host routing on by itself where the kernel allows, which would leave lab 06 nothing to change; so the
SETUP cell pins legacy host routing in cilium-config (`bpf.hostLegacyRouting=true`, as an operator may
have), and prints the value lab 06 changes. Lab 06 then changes it only on the nodes that can take
it (the VMs), through a CiliumNodeConfig. The CHECK cell, after the verification, reads cilium-config,
each node's effective value and the session's decision in the kernel, where the embedded cluster
lives. Each prints one line "<MARK> <json>" that the test reads from the page.

`write(..., pin_legacy=False)` leaves the SETUP cell out: lab 06 as a learner opens it, on a fresh
cluster caught up with labs 01-05, where it demonstrates BPF against legacy host routing on the VMs.
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
# {SETUP}: added by the browser test. The session caught this kernel's fresh embedded cluster up with
# labs 01-05; Cilium then turns BPF host routing on by itself where it can, so pin legacy host
# routing cluster-wide (as an operator may have) to leave lab 06 something to change.
import json
from cilium_lab.cluster import configmaps, discover, rollout
from cilium_lab.cluster import snapshot as snapshots
conn = lab.target.connection
install = discover.find(conn)
configmaps.patch(conn, install.namespace, install.configmap, {{"{KEY}": "true"}})
rollout.restart(conn, install.namespace, install.daemonset)
rollout.wait(conn, install, timeout=120)
lab.snapshot_before = None  # lab 06 reads the cluster as it is now
config = snapshots.take(conn).config
print("{SETUP} " + json.dumps({{"{KEY}": config.get("{KEY}", "(absent)")}}))
"""

CHECK_SOURCE = f"""\
# {CHECK}: added by the browser test. The cluster's state and the session's decision, in this kernel:
# cilium-config, and the effective per-node config (cilium-config plus CiliumNodeConfigs).
import json
from cilium_lab.cluster import snapshot as snapshots
snap = snapshots.take(lab.target.connection)
print("{CHECK} " + json.dumps({{
    "decision": lab.decision, "outcome": getattr(lab.report, "outcome", None),
    "cilium-config": snap.config.get("{KEY}", "(absent)"),
    **{{n.name: n.config.get("{KEY}", "(absent)") for n in snap.nodes}},
}}))
"""


def _index(cells: list, needle: str) -> int:
    for i, cell in enumerate(cells):
        if cell.cell_type == "code" and needle in cell.source:
            return i
    raise LookupError(f"no code cell with {needle!r} in {LAB}.ipynb: the browser test needs one")


def write(labs: Path, folder: Path, *, pin_legacy: bool = True) -> Path:
    """Write lab 06 with the SETUP (unless pin_legacy is False) and CHECK cells into `folder`; returns the
    notebook's path."""
    notebook = nbformat.read(labs / f"{LAB}.ipynb", as_version=4)
    cells = notebook.cells
    if pin_legacy:
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
