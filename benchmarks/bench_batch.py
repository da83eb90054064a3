"""Wall and CPU time of the whole series against its floor: the same number of empty notebooks through papermill.

Three arms, each a fresh process (so each pays its own imports), taken in turn A B C A B C ... for
--rounds rounds, so that a machine shared with other work loads them alike:
- floor: N empty notebooks (N = the number of labs) through papermill, a kernel each (papermill's default);
- series: `cilium-lab run --all --approve` on a fresh embedded cluster;
- series --html: the same with the HTML walkthroughs, as `make lab` runs it (its folder's size is printed).
Wall time is time.perf_counter around the process; CPU time is user + system time of the process tree
(the process and every descendant it waited for, the kernels included), from
resource.getrusage(RUSAGE_CHILDREN) before and after. Prints each arm's median and the ratios of the
medians to the floor's, with the load average beside each round. Targets for series --html: <= 2x the floor's wall time, <= 2.5x its CPU time,
output <= 15 MB. On a loaded machine the absolute figures move; the ratios are what to read.

Run: .venv/bin/python benchmarks/bench_batch.py [--rounds N] [--samples N] [--duration S]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

WALL_TARGET, CPU_TARGET, SIZE_TARGET_MB = 2.0, 2.5, 15.0
# exit statuses a series run ends with on the series' fleet, as `make lab` accepts them (Makefile, target lab):
# lab 07 refused (4: no BIG TCP NIC driver), lab 12 rolled back (5: virtio_net has no native XDP)
ACCEPTED_EXITS = (0, 4, 5)


def empty_notebooks(folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell("pass")]
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        path = folder / f"empty-{i:02d}.ipynb"
        nbformat.write(nb, path)
        paths.append(path)
    return paths


def floor_process(folder: Path) -> None:
    """The floor arm's own process: each empty notebook through papermill with a kernel of its own."""
    import papermill

    for path in sorted(folder.glob("empty-*[0-9].ipynb")):
        papermill.execute_notebook(
            str(path),
            str(path.with_suffix(".out.ipynb")),
            kernel_name="python3",
            progress_bar=False,
            shutdown_kernel="immediate",
        )


def timed(command: list[str]) -> tuple[float, float]:
    """Run `command` to its end; its wall time and the CPU time of its process tree, in seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if done.returncode not in ACCEPTED_EXITS:
        sys.exit(f"{' '.join(command[2:])} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _load() -> str:
    """The 1, 5 and 15 minute load averages: the machine may be shared, and figures move with its load."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def folder_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the three arms (default 3)")
    parser.add_argument("--samples", type=int, default=0, help="samples per test (default: the labs' own)")
    parser.add_argument("--duration", type=int, default=0, help="seconds per run (default: the labs' own)")
    parser.add_argument("--floor-process", metavar="FOLDER", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.floor_process:
        floor_process(Path(args.floor_process))
        return
    from cilium_lab import labs  # not in the floor's process: it imports papermill only

    count = len(labs.all_labs())
    params = [
        arg
        for name in ("samples", "duration")
        if getattr(args, name)
        for arg in ("-p", name, str(getattr(args, name)))
    ]
    measured: dict[str, list[tuple[float, float]]] = {"floor": [], "series": [], "series --html": []}
    sizes = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        empty_notebooks(folder / "empty", count)
        run = [sys.executable, "-m", "cilium_lab.cli", "run", "--all", "--approve", *params]
        for i in range(args.rounds):
            measured["floor"].append(
                timed([sys.executable, __file__, "--floor-process", str(folder / "empty")])
            )
            measured["series"].append(timed([*run, "--out", str(folder / f"series-{i}")]))
            out = folder / f"html-{i}"
            measured["series --html"].append(timed([*run, "--html", "--out", str(out)]))
            sizes.append(folder_bytes(out))
            print(
                f"round {i + 1}/{args.rounds} (load {_load()}): "
                + ", ".join(
                    f"{arm} {runs[-1][0]:.1f} s wall {runs[-1][1]:.1f} s CPU"
                    for arm, runs in measured.items()
                ),
                flush=True,
            )
    medians = {
        arm: (statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs))
        for arm, runs in measured.items()
    }
    floor_wall, floor_cpu = medians["floor"]
    print(
        f"medians of {args.rounds} rounds, taken in turn ({count} labs, {count} empty notebooks; "
        f"load now {_load()}):"
    )
    for arm, (wall, cpu) in medians.items():
        ratios = "" if arm == "floor" else f"   {wall / floor_wall:.2f}x wall, {cpu / floor_cpu:.2f}x CPU"
        print(f"  {arm:14} {wall:7.1f} s wall {cpu:7.1f} s CPU{ratios}")
    wall, cpu = medians["series --html"]
    print(
        f"series --html / floor: {wall / floor_wall:.2f}x wall (target <= {WALL_TARGET}x), "
        f"{cpu / floor_cpu:.2f}x CPU (target <= {CPU_TARGET}x)"
    )
    print(
        f"series --html output: {max(sizes) / 1e6:.1f} MB (largest of {len(sizes)}; target <= {SIZE_TARGET_MB} MB)"
    )


if __name__ == "__main__":
    main()
