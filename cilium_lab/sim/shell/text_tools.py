"""Shell builtins and text tools in emulated pods: echo, true, false, sleep, exit, hostname, date, cat,
grep, wc, head, tail.

Each is a handler(ctx, argv, stdin) -> ExecResult; file contents come from `node_files`. Error messages and
exit codes are GNU coreutils/grep's for the cases handled; options not listed in a handler are refused with
the tool's usage error. `sleep` moves the virtual clock and takes no wall time.
"""

from __future__ import annotations

import re
import time

from cilium_lab.sim.agent.runtime import ExecContext, ExecResult
from cilium_lab.sim.shell import node_files, node_view
from cilium_lab.sim.shell.node_view import fail, ok

EPOCH = 1688976922.0  # virtual time 0 = 2023-07-10T08:15:22Z (the seed series' era; arbitrary)


def echo(ctx: ExecContext, argv: list[str], stdin: str) -> ExecResult:
    args = argv[1:]
    newline = "\n"
    if args[:1] == ["-n"]:
        args, newline = args[1:], ""
    return ok(" ".join(args) + newline)


def true(ctx: ExecContext, argv: list[str], stdin: str) -> ExecResult:
    return ExecResult()


def false(ctx: ExecContext, argv: list[str], stdin: str) -> ExecResult:
    return ExecResult(code=1)


def exit_(ctx: ExecContext, argv: list[str], stdin: str) -> ExecResult:
    return ExecResult(code=int(argv[1]) if len(argv) > 1 and argv[1].isdigit() else 0)


def sleep(ctx: ExecContext, argv: list[str], stdin: str) -> ExecResult:
    if len(argv) < 2:
        return fail("sleep: missing operand\nTry 'sleep --help' for more information.")
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([smhd]?)", argv[1])
    if not match:
        return fail(f"sleep: invalid time interval '{argv[1]}'\nTry 'sleep --help' for more information.")
    ctx.advance(float(match[1]) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match[2]])
    return ExecResult()


def hostname(ctx: ExecContext, argv: list[str], stdin: str) -> ExecResult:
    return ok(node_view.hostname(ctx) + "\n")


def date(ctx: ExecContext, argv: list[str], stdin: str) -> ExecResult:
    moment = time.gmtime(EPOCH + ctx.clock())
    if argv[1:] in (["-u", "+%s"], ["+%s"]):
        return ok(f"{int(EPOCH + ctx.clock())}\n")
    return ok(time.strftime("%a %b %e %H:%M:%S UTC %Y", moment) + "\n")


def cat(ctx: ExecContext, argv: list[str], stdin: str) -> ExecResult:
    if len(argv) == 1:
        return ok(stdin)
    out, err = [], []
    for path in argv[1:]:
        content = node_files.read(ctx, path)
        if content is None:
            err.append(f"cat: {path}: No such file or directory\n")
        else:
            out.append(content)
    return ExecResult(stdout="".join(out), stderr="".join(err), code=1 if err else 0)


def grep(ctx: ExecContext, argv: list[str], stdin: str) -> ExecResult:
    flags, rest = _short_flags(argv[1:], "ivcqEFw")
    if flags is None or not rest:
        return fail("Usage: grep [OPTION]... PATTERNS [FILE]...\nTry 'grep --help' for more information.", 2)
    pattern, files = rest[0], rest[1:]
    texts = [(None, stdin)] if not files else [(f, node_files.read(ctx, f)) for f in files]
    regex = re.compile(re.escape(pattern) if "F" in flags else _ere(pattern), re.I if "i" in flags else 0)
    out, err, count = [], [], 0
    for name, text in texts:
        if text is None:
            err.append(f"grep: {name}: No such file or directory\n")
            continue
        for line in text.splitlines():
            if bool(regex.search(line)) != ("v" in flags):
                count += 1
                out.append((f"{name}:" if len(files) > 1 else "") + line + "\n")
    if "c" in flags:
        out = [f"{count}\n"]
    code = 2 if err and not count else (0 if count else 1)
    return ExecResult(stdout="" if "q" in flags else "".join(out), stderr="".join(err), code=code)


def _ere(pattern: str) -> str:
    """Basic regular expressions treat + ? | ( ) literally unless escaped; Python's re is close to ERE."""
    return pattern.replace(r"\|", "|")


def wc(ctx: ExecContext, argv: list[str], stdin: str) -> ExecResult:
    if argv[1:] != ["-l"]:
        return fail("wc: only `wc -l` is emulated", 1)
    return ok(f"{stdin.count(chr(10))}\n")


def head(ctx: ExecContext, argv: list[str], stdin: str) -> ExecResult:
    n = _line_count(argv[1:])
    if n is None:
        return fail(f"{argv[0]}: invalid number of lines\nTry '{argv[0]} --help' for more information.")
    lines = stdin.splitlines(keepends=True)
    return ok("".join(lines[:n] if argv[0] == "head" else lines[-n:] if n else []))


tail = head


def _line_count(args: list[str]) -> int | None:
    if not args:
        return 10
    if args[0] == "-n" and len(args) == 2 and args[1].isdigit():
        return int(args[1])
    if len(args) == 1 and re.fullmatch(r"-n?\d+", args[0]):
        return int(args[0].lstrip("-n"))
    return None


def _short_flags(args: list[str], allowed: str) -> tuple[str | None, list[str]]:
    flags = ""
    while args and args[0].startswith("-") and len(args[0]) > 1:
        if args[0] == "--":  # getopt: the end of the options, whatever follows
            return flags, args[1:]
        if any(c not in allowed for c in args[0][1:]):
            return None, []
        flags += args[0][1:]
        args = args[1:]
    return flags, args


COMMANDS = {
    "echo": echo,
    "true": true,
    "false": false,
    "exit": exit_,
    "sleep": sleep,
    "hostname": hostname,
    "date": date,
    "cat": cat,
    "grep": grep,
    "wc": wc,
    "head": head,
    "tail": tail,
}
