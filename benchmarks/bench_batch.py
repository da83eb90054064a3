"""Wall time of the whole series against the floor: the same number of empty notebooks through papermill.

Prints, measured in this one run:
- floor: N empty notebooks through papermill, one kernel each (papermill's default);
- floor (shared kernel): the same through cilium-lab's batch engine (one kernel for all);
- series: `cilium-lab run --all --approve` on a fresh embedded cluster (the same call `make lab` makes,
  without the HTML export), and the ratio series / floor. Target: within 3x of the floor.

Run: .venv/bin/python benchmarks/bench_batch.py [--samples N] [--duration S] [--html]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import nbformat
import papermill

from cilium_lab import batch_kernel, labs


def empty_notebooks(folder: Path, count: int) -> list[Path]:
    paths = []
    for i in range(count):
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell("pass")]
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        path = folder / f"empty-{i:02d}.ipynb"
        nbformat.write(nb, path)
        paths.append(path)
    return paths


def run_floor(paths: list[Path], engine: str | None = None) -> float:
    started = time.perf_counter()
    for path in paths:
        papermill.execute_notebook(
            str(path),
            str(path.with_suffix(".out.ipynb")),
            kernel_name="python3",
            progress_bar=False,
            shutdown_kernel="immediate",
            engine_name=engine,
        )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=5)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--html", action="store_true", help="include the HTML export, as make lab does")
    args = parser.parse_args()
    series = labs.all_labs()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        paths = empty_notebooks(folder, len(series))
        floor = run_floor(paths)
        with batch_kernel.shared_kernel(folder) as engine:
            shared_floor = run_floor(paths, engine)
        started = time.perf_counter()
        runs = labs.run(
            series,
            out_dir=folder / "series",
            approve=True,
            html=args.html,
            parameters={"samples": args.samples, "duration": args.duration},
        )
        whole = time.perf_counter() - started
    failed = [r.lab.name for r in runs if not r.ok]
    print(f"labs: {len(series)} ({len(failed)} failed{': ' + ', '.join(failed) if failed else ''})")
    print(f"floor, {len(series)} empty notebooks, a kernel each:  {floor:7.1f} s")
    print(f"floor, {len(series)} empty notebooks, one kernel:     {shared_floor:7.1f} s")
    print(f"series, cilium-lab run --all --approve{' --html' if args.html else ''}:  {whole:7.1f} s")
    print(
        f"series / floor: {whole / floor:.2f}x (target <= 3x); series / shared-kernel floor: {whole / shared_floor:.2f}x"
    )


if __name__ == "__main__":
    main()
