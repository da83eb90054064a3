"""`cilium-lab export NOTEBOOK...`: executed notebooks to offline HTML walkthroughs."""

from __future__ import annotations

import argparse
from pathlib import Path

from cilium_lab import export, outputs


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("export", help="turn executed notebooks into offline HTML walkthroughs")
    parser.add_argument("notebooks", nargs="+", metavar="NOTEBOOK", help="executed .ipynb files")
    parser.add_argument("--out", default="", help="folder for the HTML files (default: beside each notebook)")
    parser.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    if args.out:
        outputs.check_folder(args.out, "--out")
    sources = [export.check_notebook(Path(notebook)) for notebook in args.notebooks]  # all, before writing
    with outputs.undo_new_folders(args.out or "."):
        for source in sources:
            out = Path(args.out) / source.with_suffix(".html").name if args.out else None
            if out:
                out.parent.mkdir(parents=True, exist_ok=True)
            print(export.to_html(source, out))
    return 0
