"""sh -c scripts in emulated pods: operators, background jobs with wait, pipes, unknown commands."""

from __future__ import annotations

import pytest
from test_sim_shell_helpers import Clock, context

from cilium_lab.sim.agent.runtime import ExecResult
from cilium_lab.sim.shell import dispatch, netperf_emu


def sh(script, **kw):
    return dispatch.run(context(**kw), ["sh", "-c", script])


def test_unknown_command_fails_as_sh_does():
    r = dispatch.run(context(), ["frobnicate", "--now"])
    assert (r.stdout, r.stderr, r.code) == ("", "sh: 1: frobnicate: not found\n", 127)
    assert sh("frobnicate").code == 127


def test_and_or_and_semicolon():
    assert sh("true && echo yes").stdout == "yes\n"
    assert sh("false && echo yes").stdout == ""
    assert sh("false || echo fallback").stdout == "fallback\n"
    assert sh("echo a; echo b").stdout == "a\nb\n"
    assert sh("false; true").code == 0
    assert sh("true; false").code == 1


def test_pipes_to_grep_wc_head():
    assert sh("cat /proc/interrupts | grep -c virtio").stdout == "4\n"
    assert sh("cat /proc/interrupts | wc -l").stdout == "6\n"
    assert sh("cat /proc/interrupts | head -n 1").stdout.split() == ["CPU0", "CPU1", "CPU2", "CPU3"]
    assert sh("echo abc | grep -q zzz").code == 1


def test_quoting_and_redirections():
    assert sh("echo 'a  b' \"c\"").stdout == "a  b c\n"
    quiet = sh("cat /nope 2>/dev/null")
    assert (quiet.stderr, quiet.code) == ("", 1)
    assert sh("echo hidden >/dev/null").stdout == ""
    assert sh("cat /nope 2>&1").stdout == "cat: /nope: No such file or directory\n"


def test_syntax_error():
    r = sh("echo 'unterminated")
    assert r.code == 2 and r.stderr.startswith("sh: 1: Syntax error")
    assert sh("&& echo x").code == 2


def test_sleep_advances_virtual_time_only():
    clock = Clock()
    r = dispatch.run(context(clock=clock), ["sh", "-c", "sleep 5 && date +%s"])
    assert clock.now == 5.0 and r.stdout.strip() == str(1688976922 + 5)


@pytest.fixture
def fake_netperf(monkeypatch):
    """A stand-in for the netperf emulator's `run` that records what it was told."""
    calls = []

    def run(ctx, argv, *, concurrent=1):
        calls.append((argv, concurrent))
        ctx.advance(float(argv[argv.index("-l") + 1]) / concurrent)  # netperf_emu's contract
        return ExecResult(stdout=f"{concurrent}\n")

    monkeypatch.setattr(netperf_emu, "run", run)
    return calls


def test_background_netperf_jobs_run_concurrently_until_wait(fake_netperf):
    clock = Clock()
    ctx = context(bench=True, clock=clock)
    script = " & ".join(["netperf -H 10.42.1.5 -l 10 -t TCP_STREAM"] * 4) + " & wait"
    r = dispatch.run(ctx, ["sh", "-c", script])
    assert r.code == 0 and r.stdout == "4\n" * 4
    assert [c for _, c in fake_netperf] == [4, 4, 4, 4]
    assert clock.now == 10.0  # parallel: one duration in total, not four


def test_background_sleeps_overlap():
    clock = Clock()
    dispatch.run(context(clock=clock), ["sh", "-c", "sleep 3 & sleep 5 & wait; echo done"])
    assert clock.now == 5.0


def test_foreground_netperf_is_alone(fake_netperf):
    clock = Clock()
    dispatch.run(context(bench=True, clock=clock), ["netperf", "-H", "10.42.1.5", "-l", "3"])
    assert fake_netperf == [(["netperf", "-H", "10.42.1.5", "-l", "3"], 1)]
    assert clock.now == 3.0


def test_perf_tools_exist_only_in_the_benchmark_image(fake_netperf):
    r = dispatch.run(context(), ["netperf", "-H", "10.42.1.5", "-l", "1"])
    assert r.code == 127 and fake_netperf == []
