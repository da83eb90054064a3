"""A small POSIX-sh subset for `sh -c "<script>"` inside emulated pods.

Runs `sh -c`/`bash -c` scripts; calls back into the shell's command table through a `Runner` (argv, stdin,
ctx) -> ExecResult. It knows `;`, `&&`, `||`, `&` with `wait`, pipes, `$(...)` command substitution (not
nested), quoting (shlex), redirections to /dev/null and `2>&1` (for a whole pipeline), and globs that match a
path the node's virtual filesystem has. `> FILE`/`>> FILE` write a pipeline's output through the caller's
`Writer` (`node_files.write`): the file is opened before the pipeline runs, as sh does, and a refused open is
dash's `cannot create` error (exit 2).

Background jobs: the benchmark engine starts N netperf processes as `sh -c 'netperf ... & netperf ... &
wait'`. Jobs started with `&` are held until `wait` (or the end of the script) and then run one after the
other, each told how many perf tools run at once (the `concurrent` argument, see `sim.shell.dispatch`), each
with a clock that only records how far it would advance. `sim.shell.netperf_emu` advances by
duration/concurrent per process (its docstring), so the perf jobs' advances add up to one run; other jobs
(`sleep 5 &`) run side by side, so the longest counts. The shared virtual clock then moves once, by the larger
of the two, as parallel processes would. Simplifications: no variables, functions, loops or here-documents;
output of parallel jobs is not interleaved; jobs left running at the end of the script are waited for.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import re
import shlex
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from cilium_lab.sim.agent.runtime import ExecContext, ExecResult

Runner = Callable[[ExecContext, list[str], str, int], ExecResult]  # (ctx, argv, stdin, concurrent)
# (ctx, path, text): None when written, else the reason (strerror); text None only checks the open
Writer = Callable[[ExecContext, str, "str | None"], "str | None"]
OPERATORS = (";", "&&", "||", "&", "|")
PERF_TOOLS = ("netperf", "iperf3", "netserver")
_SUBST = re.compile(r"\$\(([^()]*)\)")
_MERGE = "__sim_merge_stderr__"  # stands for 2>&1, whose & the lexer would take for an operator
_REDIRECT = re.compile(r"^([012]?)(>>?)(.*)$")


class ShellSyntaxError(Exception):
    """The script does not parse; sh prints `sh: 1: Syntax error: ...` and exits 2."""


@dataclass
class Step:
    pipeline: list[list[str]]  # commands joined by |
    op: str | None  # the operator after it: ; && || & or None at the end
    merge_stderr: bool = False
    drop: frozenset[str] = frozenset()  # "stdout"/"stderr" sent to /dev/null
    target: str | None = None  # stdout written to this file (> or >>)


def run_script(
    ctx: ExecContext,
    script: str,
    run: Runner,
    paths: Callable[[], Iterable[str]],
    write: Writer | None = None,
) -> ExecResult:
    """Execute `script` as sh would; `paths` lists the virtual files globs may match, `write` writes files."""
    try:
        script = _substitute(ctx, script, run, paths)
        steps = parse(script, paths)
    except ShellSyntaxError as err:
        return ExecResult(stderr=f"sh: 1: Syntax error: {err}\n", code=2)
    write = write or _read_only
    out, err, code = [], [], 0
    jobs: list[Step] = []
    skip_next = False
    for step in steps:
        if skip_next:
            skip_next = _skips(step.op, code)
            continue
        if step.op == "&":
            jobs.append(step)
            continue
        if step.pipeline == [["wait"]]:
            code = _wait(ctx, jobs, run, out, err, write)
            jobs = []
        else:
            result = _pipeline(ctx, step, run, 1, write)
            out.append(result.stdout)
            err.append(result.stderr)
            code = result.code
        skip_next = _skips(step.op, code)
        if step.pipeline and step.pipeline[0][:1] == ["exit"]:
            break
    if jobs:
        _wait(ctx, jobs, run, out, err, write)
    return ExecResult(stdout="".join(out), stderr="".join(err), code=code)


def _skips(op: str | None, code: int) -> bool:
    return (op == "&&" and code != 0) or (op == "||" and code == 0)


def _wait(
    ctx: ExecContext, jobs: list[Step], run: Runner, out: list[str], err: list[str], write: Writer
) -> int:
    concurrent = sum(1 for job in jobs if _is_perf(job)) or 1
    perf_total, longest_other = 0.0, 0.0
    for job in jobs:
        elapsed = [0.0]

        def record(seconds: float, elapsed: list[float] = elapsed) -> None:
            elapsed[0] += seconds

        result = _pipeline(dataclasses.replace(ctx, advance=record), job, run, concurrent, write)
        out.append(result.stdout)
        err.append(result.stderr)
        if _is_perf(job):
            perf_total += elapsed[0]  # netperf_emu advances duration/concurrent per process
        else:
            longest_other = max(longest_other, elapsed[0])
    if max(perf_total, longest_other):
        ctx.advance(max(perf_total, longest_other))
    return 0  # `wait` without operands returns 0


def _is_perf(job: Step) -> bool:
    return job.pipeline[0][0].rsplit("/", 1)[-1] in PERF_TOOLS


def _pipeline(ctx: ExecContext, step: Step, run: Runner, concurrent: int, write: Writer) -> ExecResult:
    if step.target and (why := write(ctx, step.target, None)):
        return ExecResult(stderr=f"sh: 1: cannot create {step.target}: {why}\n", code=2)
    stdin, stderr, result = "", "", ExecResult()
    for argv in step.pipeline:
        result = run(ctx, argv, stdin, concurrent)
        stdin = result.stdout
        stderr += result.stderr
    stdout = stderr + result.stdout if step.merge_stderr else result.stdout
    stderr = "" if step.merge_stderr or "stderr" in step.drop else stderr
    code = result.code
    if step.target:
        stdout, why = "", write(ctx, step.target, stdout) if stdout else None
        if why:  # the write itself failed (a value the kernel refuses): dash's builtins say I/O error
            name = step.pipeline[-1][0]
            stderr += (
                f"sh: 1: {name}: {name}: I/O error\n" if name == "echo" else f"{name}: write error: {why}\n"
            )
            code = 1
    return ExecResult(stdout="" if "stdout" in step.drop else stdout, stderr=stderr, code=code)


def _read_only(ctx: ExecContext, path: str, text: str | None) -> str | None:
    return "Read-only file system"


def _substitute(ctx: ExecContext, script: str, run: Runner, paths: Callable[[], Iterable[str]]) -> str:
    def replace(match: re.Match[str]) -> str:
        return run_script(ctx, match[1], run, paths).stdout.strip()

    return _SUBST.sub(replace, script)


def parse(script: str, paths: Callable[[], Iterable[str]] = tuple) -> list[Step]:
    """Split a script into pipelines and the operators between them."""
    script = script.replace("2>&1", f" {_MERGE} ").replace("\n", " ; ")
    lexer = shlex.shlex(script, posix=True, punctuation_chars=";&|")
    lexer.whitespace_split = True
    try:
        tokens = list(lexer)
    except ValueError as err:  # unterminated quote
        raise ShellSyntaxError(str(err).lower()) from None
    steps: list[Step] = []
    pipeline: list[list[str]] = []
    words: list[str] = []
    merge, drop, target, pending = False, set(), None, None
    for token in tokens:
        if token not in OPERATORS:
            if pending is not None:
                target = _redirect(pending, token, drop) or target
                pending = None
            elif token == _MERGE:
                merge = True
            elif redirect := _REDIRECT.match(token):
                if redirect[3]:
                    target = _redirect(redirect[1], redirect[3], drop) or target
                else:
                    pending = redirect[1]
            else:
                words.extend(_glob(token, paths))
            continue
        if pending is not None:
            raise ShellSyntaxError(f'redirection unexpected before "{token}"')
        if not words:
            if token == ";" and not pipeline:
                continue  # empty statement from a trailing newline
            raise ShellSyntaxError(f'"{token}" unexpected')
        pipeline.append(words)
        words = []
        if token != "|":
            steps.append(Step(pipeline, token, merge, frozenset(drop), target))
            pipeline, merge, drop, target = [], False, set(), None
    if pending is not None:
        raise ShellSyntaxError("end of file unexpected (expecting word)")
    if words:
        pipeline.append(words)
    elif pipeline:
        raise ShellSyntaxError("end of file unexpected")
    if pipeline:
        steps.append(Step(pipeline, None, merge, frozenset(drop), target))
    return steps


def _redirect(fd: str, path: str, drop: set[str]) -> str | None:
    """/dev/null drops the stream; any other path is stdout's target (stderr to a file is not emulated)."""
    stream = "stderr" if fd == "2" else "stdout"
    if path == "/dev/null":
        drop.add(stream)
        return None
    if stream == "stderr":
        raise ShellSyntaxError(f"redirecting stderr to {path} is not emulated")
    return path


def _glob(word: str, paths: Callable[[], Iterable[str]]) -> list[str]:
    if not any(c in word for c in "*?["):
        return [word]
    matches = sorted(p for p in paths() if fnmatch.fnmatchcase(p, word))
    return matches or [word]  # sh keeps an unmatched pattern as it is
