"""Keep each lab's generated notebook in step with its jupytext source.

`cilium_lab/lab_notebooks/NN-slug.py` (percent format) is the source; `NN-slug.ipynb` beside it is
generated from it with no outputs, so it can be opened in JupyterLab or run by papermill. `make notebooks` calls `sync`; a test
calls `check`. Run as `python -m cilium_lab.notebooks sync|check`.
"""

from __future__ import annotations

import sys
from pathlib import Path

from cilium_lab.package_files import shipped

LABS_DIR = shipped("lab_notebooks")
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def sources(labs_dir: Path = LABS_DIR) -> list[Path]:
    """The jupytext sources, in lab order."""
    return sorted(p for p in labs_dir.glob("[0-9][0-9]-*.py"))


def render(source: Path) -> str:
    """The .ipynb text generated from one source: outputs stripped, kernelspec set, stable ids."""
    import jupytext  # ~1.5 s of imports (nbformat's schema validation): only when a notebook is rendered
    import nbformat

    nb = jupytext.read(source, fmt="py:percent")
    nb.metadata.pop("jupytext", None)
    nb.metadata["kernelspec"] = KERNELSPEC
    nb.metadata["language_info"] = {"name": "python"}
    for index, cell in enumerate(nb.cells):
        cell["id"] = f"{source.stem[:2]}-{index:02d}"
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return nbformat.writes(nb, version=4) + "\n"


def sync(labs_dir: Path = LABS_DIR) -> list[Path]:
    """Regenerate every notebook whose text differs from its source; return the ones written."""
    written = []
    for source in sources(labs_dir):
        target = source.with_suffix(".ipynb")
        text = render(source)
        if not target.exists() or target.read_text() != text:
            target.write_text(text)
            written.append(target)
    return written


def check(labs_dir: Path = LABS_DIR) -> list[str]:
    """Problems that make a committed notebook disagree with its source (empty when all agree)."""
    problems = []
    for source in sources(labs_dir):
        target = source.with_suffix(".ipynb")
        if not target.exists():
            problems.append(f"{target.name} is missing: run `make notebooks`")
        elif target.read_text() != render(source):
            problems.append(f"{target.name} differs from {source.name}: run `make notebooks`")
    for target in labs_dir.glob("[0-9][0-9]-*.ipynb"):
        if not target.with_suffix(".py").exists():
            problems.append(f"{target.name} has no jupytext source {target.with_suffix('.py').name}")
    return problems


def main(argv: list[str]) -> int:
    verb = argv[0] if argv else "sync"
    if verb == "sync":
        for path in sync():
            print(f"wrote {path.relative_to(LABS_DIR.parent)}")
        return 0
    if verb == "check":
        problems = check()
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1 if problems else 0
    print("usage: python -m cilium_lab.notebooks sync|check", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
