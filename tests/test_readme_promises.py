"""tests/README_PROMISES.md cannot rot: every promise it quotes is still in the README (or the `--help` of
the verb it names), every row names at least one attacking test, and every test it names exists (a
`test_*` function defined in that file, read with ast, or an import-linter contract of .importlinter).
`python tests/test_readme_promises.py` prints the rows that fail."""

from __future__ import annotations

import argparse
import ast
import functools
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAP = ROOT / "tests" / "README_PROMISES.md"
TESTED, OPEN = "## Promises and their tests", "## Promises without an attacking test yet"
ID = re.compile(r"`((?:tests/[\w/]+\.py::\w+)|(?:\.importlinter:[\w-]+))`")


@dataclass(frozen=True)
class Row:
    where: str  # "README" or "`cilium-lab VERB ... --help`"
    promise: str
    tests: tuple[str, ...]
    line: int


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split(" | ")]


def rows(section: str, text: str | None = None) -> list[Row]:
    """The table rows of one section of the map."""
    lines = (text if text is not None else MAP.read_text()).splitlines()
    start = lines.index(section)
    out = []
    for number, line in enumerate(lines[start + 1 :], start + 2):
        if line.startswith("## "):
            break
        if not line.startswith("| ") or line.startswith(("| # ", "| where ", "|---")):
            continue
        cells = _cells(line)
        where, promise, rest = (cells[1], cells[2], cells[3]) if section == TESTED else tuple(cells[:3])
        assert promise[0] == promise[-1] == '"', f"line {number}: the promise must be quoted: {promise}"
        out.append(Row(where, promise[1:-1], tuple(ID.findall(rest)), number))
    return out


def _flat(text: str) -> str:
    return " ".join(text.split())


@functools.cache
def _readme() -> str:
    return _flat((ROOT / "README.md").read_text())


@functools.cache
def _help(where: str) -> str:
    """The help text of `cilium-lab VERB [ACTION] --help`, unwrapped."""
    from cilium_lab.cli import build_parser

    words = where.strip("`").split()
    assert words[0] == "cilium-lab" and words[-1] == "--help", where
    parser = build_parser(words[1] if len(words) > 2 else None)
    for word in words[1:-1]:
        [sub] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        parser = sub.choices[word]
    parser.formatter_class = functools.partial(argparse.HelpFormatter, width=10_000)
    return _flat(parser.format_help())


def source(where: str) -> str:
    return _readme() if where == "README" else _help(where)


@functools.cache
def _defined(path: str) -> frozenset[str]:
    tree = ast.parse((ROOT / path).read_text())
    return frozenset(
        n.name
        for n in tree.body
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name.startswith("test_")
    )


def exists(test_id: str) -> bool:
    if test_id.startswith(".importlinter:"):
        contract = test_id.split(":", 1)[1]
        return f"[importlinter:contract:{contract}]" in (ROOT / ".importlinter").read_text()
    path, name = test_id.split("::")
    return (ROOT / path).is_file() and name in _defined(path)


def problems(tested: list[Row], open_: list[Row]) -> list[str]:
    found = []
    for row in [*tested, *open_]:
        if _flat(row.promise) not in source(row.where):
            found.append(f"line {row.line}: not in {row.where} any more: {row.promise!r}")
    for row in tested:
        if not row.tests:
            found.append(f"line {row.line}: names no test: {row.promise!r}")
        found += [f"line {row.line}: no such test: {t}" for t in row.tests if not exists(t)]
    return found


def test_every_promise_is_still_said_and_every_test_named_exists():
    tested, open_ = rows(TESTED), rows(OPEN)
    assert len(tested) >= 100 and open_  # the map was read, not skipped
    assert problems(tested, open_) == []


def test_the_rows_are_numbered_in_order_and_no_promise_is_listed_twice():
    lines = MAP.read_text().splitlines()
    numbers = [int(_cells(lines[r.line - 1])[0]) for r in rows(TESTED)]
    assert numbers == list(range(1, len(numbers) + 1))
    promises = [r.promise for r in rows(TESTED) + rows(OPEN)]
    assert len(promises) == len(set(promises))


@pytest.mark.parametrize(
    "row, why",
    [
        ('| 1 | README | "a sentence the README never said" | `tests/test_exit_codes.py::test_a_batch_exits_with_the_most_severe_code` |', "not in README"),
        ('| 1 | README | "The batch prints one line per lab that did not exit 0." | `tests/test_exit_codes.py::test_nope` |', "no such test"),
        ('| 1 | README | "The batch prints one line per lab that did not exit 0." | `tests/test_nowhere.py::test_a` |', "no such test"),
        ('| 1 | README | "The batch prints one line per lab that did not exit 0." | `.importlinter:no-such-contract` |', "no such test"),
        ('| 1 | README | "The batch prints one line per lab that did not exit 0." | the exit code tests |', "names no test"),
        ('| 1 | `cilium-lab unlock --help` | "deletes every lease in sight" | `tests/test_cli_unlock.py::test_nothing_to_unlock` |', "not in `cilium-lab unlock --help`"),
    ],
)  # fmt: skip
def test_a_rotten_row_is_found(row, why):
    text = f"{TESTED}\n\n| # | where | promise | attacked by |\n|---|---|---|---|\n{row}\n\n{OPEN}\n"
    found = problems(rows(TESTED, text), rows(OPEN, text))
    assert len(found) == 1 and why in found[0], found


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    print("\n".join(problems(rows(TESTED), rows(OPEN))) or "every row holds")
