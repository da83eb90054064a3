"""CPU time of the HTML walkthrough export per page: nbconvert's stock path against `export.to_html`.

The stock path is what `export.to_html` did before session 5: nbconvert's HTMLExporter (with its
BeautifulSoup pass over the whole page) and the same `offline` template and figure preprocessor, from
the file, then every scrub pattern over the whole page, then `write_plotlyjs` per page. Both run in this
one process on the same executed notebooks, warm (templates compiled, one page exported by each first),
in turn (stock, new, stock, new, ...) for --rounds rounds, so that a machine shared with other work
loads them alike. CPU time is time.process_time around each page. Prints each path's median CPU time per
page over the rounds (each round's per-page mean) and their ratio.

The executed notebooks come from --notebooks (a folder of a `cilium-lab run --all` output), or else from
a run of the series made here first (`cilium-lab run --all --approve`, about half a minute).

Run: .venv/bin/python benchmarks/bench_export.py [--rounds N] [--notebooks FOLDER]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from cilium_lab import export, scrub
from cilium_lab.ui import rendering

ACCEPTED_EXITS = (0, 4, 5)  # lab 07 refused, lab 12 rolled back on the series' fleet (as bench_batch)


def stock_exporter() -> Any:
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name="offline", extra_template_basedirs=[str(export.TEMPLATES)], optimistic_validation=True
    )
    exporter.register_preprocessor(export._figures_as_html, enabled=True)
    return exporter


def scrub_every_pattern(text: str) -> str:
    """scrub() as it was: one quick search, then all six patterns over the whole text."""
    if not scrub._MAYBE.search(text):
        return text
    for pattern, replacement in scrub._PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def stock_to_html(exporter: Any, notebook: Path, out: Path) -> None:
    body, _ = exporter.from_filename(str(notebook), resources={"plotly_js": rendering.plotlyjs_name()})
    body = scrub_every_pattern(body).replace("<head>", f"<head>\n{export.GENERATOR}", 1)
    rendering.write_plotlyjs(out.parent)
    out.write_text(body, encoding="utf-8")


def series_notebooks(folder: Path) -> list[Path]:
    done = subprocess.run(
        [sys.executable, "-m", "cilium_lab.cli", "run", "--all", "--approve", "--out", str(folder)],
        capture_output=True,
        text=True,
    )
    if done.returncode not in ACCEPTED_EXITS:
        raise SystemExit(f"cilium-lab run --all exited {done.returncode}: {done.stderr[-2000:]}")
    return sorted(folder.glob("*.ipynb"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the two paths (default 3)")
    parser.add_argument(
        "--notebooks", type=Path, help="a folder of executed notebooks (default: run the series)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
        work = Path(tmp)
        notebooks = (
            sorted(args.notebooks.glob("*.ipynb")) if args.notebooks else series_notebooks(work / "series")
        )
        if not notebooks:
            raise SystemExit(
                f"no .ipynb in {args.notebooks}: give the output folder of `cilium-lab run --all`"
            )
        stock = stock_exporter()
        paths = {
            "stock": lambda nb, out: stock_to_html(stock, nb, out),
            "new": lambda nb, out: export.to_html(nb, out),
        }
        for name, path in paths.items():  # warm: templates compiled, plotly.js written once
            (work / name).mkdir()
            path(notebooks[0], work / name / "warm.html")
        per_page: dict[str, list[float]] = {name: [] for name in paths}
        for _ in range(args.rounds):
            for name, path in paths.items():
                start = time.process_time()
                for nb in notebooks:
                    path(nb, work / name / nb.with_suffix(".html").name)
                per_page[name].append((time.process_time() - start) / len(notebooks))
        median = {name: statistics.median(values) for name, values in per_page.items()}
        print(
            f"{len(notebooks)} executed notebooks, {args.rounds} rounds, CPU time per page (median of rounds):"
        )
        for name, value in median.items():
            rounds = ", ".join(f"{v * 1000:.0f}" for v in per_page[name])
            print(f"  {name:5}  {value * 1000:6.1f} ms   (rounds: {rounds} ms)")
        print(f"  new / stock: {median['new'] / median['stock']:.2f}")


if __name__ == "__main__":
    main()
