"""`cilium-lab labs`: list the labs in series order."""

from __future__ import annotations

import argparse

from cilium_lab import labs
from cilium_lab.cli.common import add_json_option, print_json


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("labs", help="list the labs")
    add_json_option(parser)
    parser.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
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
