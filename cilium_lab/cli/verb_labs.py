"""`cilium-lab labs`: list the labs in series order, or copy their notebooks into a folder (--copy)."""

from __future__ import annotations

import argparse
from pathlib import Path

from cilium_lab import labs
from cilium_lab.cli.common import add_json_option, print_json
from cilium_lab.errors import InputError


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("labs", help="list the labs, or copy their notebooks into a folder")
    parser.add_argument(
        "--copy", metavar="DIR", type=Path, help="copy the labs' notebooks into DIR, to open in JupyterLab"
    )
    parser.add_argument(
        "--force", action="store_true", help="with --copy: overwrite notebooks already in DIR"
    )
    add_json_option(parser)
    parser.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    if args.force and not args.copy:
        raise InputError("--force applies only with --copy DIR: add --copy DIR, or leave --force out")
    if args.copy:
        copies = labs.copy_notebooks(args.copy, overwrite=args.force)
        if args.json:
            print_json([str(path) for path in copies])
        else:
            print(
                f"copied {len(copies)} notebooks into {args.copy}: open them with `jupyter lab {args.copy}`"
            )
        return 0
    found = labs.all_labs()
    if args.json:
        print_json(
            [
                {"number": lab.number, "name": lab.name, "title": lab.title, "notebook": str(lab.notebook)}
                for lab in found
            ]
        )
        return 0
    for lab in found:
        print(f"{lab.name:<34} {lab.title}")
    return 0
