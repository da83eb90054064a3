"""Host tuning through nsenter in emulated pods: who may enter the host, what changes, what every read then shows.

Contexts are built as the API side builds them (write_host backed by `sim.state.host_settings.HostStates`), without HTTP.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from test_sim_shell_helpers import SEED, context

from cilium_lab.sim.control import state_file
from cilium_lab.sim.control.backend import Backend
from cilium_lab.sim.perf import host_effects, network_model
from cilium_lab.sim.perf.path import Path, Side
from cilium_lab.sim.shell import dispatch
from cilium_lab.sim.state.host_settings import HostStates

DEBIAN = "docker.io/library/debian:bookworm-slim"
ENTER = ["nsenter", "-t", "1", "-m", "-u", "-i", "-n", "-p", "--", "sh", "-c"]
VM, BOARD = "vm-1", "board-1"


@pytest.fixture
def hosts() -> HostStates:
    return HostStates({n.name: n for n in SEED.nodes})


def pod_ctx(
    hosts: HostStates, node: str, *, privileged: bool = True, host_pid: bool = True, image: str = DEBIAN
):
    ctx = context(node=hosts.node(node), image=image)
    ctx.pod["spec"].update(hostPID=host_pid, hostNetwork=True)
    ctx.pod["spec"]["containers"][0]["securityContext"] = {"privileged": privileged}
    return replace(ctx, write_host=lambda changes: hosts.update(node, changes))


def on_host(hosts: HostStates, node: str, script: str, **kw):
    return dispatch.run(pod_ctx(hosts, node, **kw), [*ENTER, script])


@pytest.mark.parametrize(("privileged", "host_pid"), [(False, True), (True, False), (False, False)])
def test_nsenter_needs_a_privileged_host_pid_pod(hosts, privileged, host_pid):
    r = on_host(hosts, BOARD, "echo performance > /sys/devices/system/cpu/cpu0/cpufreq/scaling_governor",
                privileged=privileged, host_pid=host_pid)  # fmt: skip
    assert (r.code, r.stderr) == (1, "nsenter: cannot open /proc/1/ns/mnt: Permission denied\n")
    assert hosts.current(BOARD)["governor.cpu0"] == "ondemand"


def test_a_benchmark_pod_cannot_change_the_host(hosts):
    bench = replace(context(node=hosts.node(BOARD), bench=True), write_host=lambda c: hosts.update(BOARD, c))
    r = dispatch.run(
        bench, ["sh", "-c", "echo performance > /sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"]
    )
    assert r.code == 2 and "cannot create" in r.stderr and "Read-only file system" in r.stderr
    assert dispatch.run(bench, ["nsenter", "-t", "1", "-m", "--", "true"]).code in (1, 127)
    assert hosts.current(BOARD)["governor"] == "ondemand"


def test_governor_written_per_cpu_then_read_back_and_seen_by_the_model(hosts):
    glob = "/sys/devices/system/cpu/cpu*/cpufreq/scaling_governor"
    before = host_effects.settings(hosts.node(BOARD))["governor"]
    r = on_host(hosts, BOARD, "echo performance > /sys/devices/system/cpu/cpu0/cpufreq/scaling_governor")
    assert r.code == 0, r.stderr
    assert hosts.current(BOARD)["governor"] == "mixed"  # one core of four changed
    assert on_host(hosts, BOARD, f"echo performance | tee {glob} >/dev/null").code == 0
    assert on_host(hosts, BOARD, f"cat {glob}").stdout == "performance\n" * 4
    assert (before, host_effects.settings(hosts.node(BOARD))["governor"]) == ("other", "performance")


def test_governor_refused_where_there_is_no_cpufreq(hosts):
    r = on_host(hosts, VM, "cpupower frequency-set -g performance")
    assert (
        r.code == 237 and r.stdout == "Setting cpu: 0\n" and r.stderr.startswith("Error setting new values.")
    )
    r = on_host(hosts, VM, "echo performance > /sys/devices/system/cpu/cpu0/cpufreq/scaling_governor")
    assert (r.code, r.stderr) == (
        2, "sh: 1: cannot create /sys/devices/system/cpu/cpu0/cpufreq/scaling_governor: Directory nonexistent\n"
    )  # fmt: skip


def test_an_unknown_governor_is_an_io_error(hosts):
    r = on_host(hosts, BOARD, "echo turbo > /sys/devices/system/cpu/cpu0/cpufreq/scaling_governor")
    assert (r.code, r.stderr) == (1, "sh: 1: echo: echo: I/O error\n")


def test_cpupower_sets_every_cpu(hosts):
    r = on_host(hosts, BOARD, "cpupower frequency-set -g performance")
    assert r.code == 0 and r.stdout.count("Setting cpu:") == 4
    assert hosts.current(BOARD)["governor"] == "performance"


def test_irqbalance_stops_and_is_seen_by_every_reader(hosts):
    assert on_host(hosts, VM, "systemctl disable --now irqbalance").code == 0
    state = on_host(hosts, VM, "systemctl is-active irqbalance; systemctl is-enabled irqbalance")
    assert state.stdout == "inactive\ndisabled\n"
    agent = context(node=hosts.node(VM))  # the agent image answers as the host would
    assert dispatch.run(agent, ["systemctl", "is-active", "irqbalance"]).stdout == "inactive\n"
    assert host_effects.settings(hosts.node(VM))["irqbalance"] == "inactive"


def test_systemctl_changes_fail_without_systemd_in_a_pod(hosts):
    r = dispatch.run(context(node=hosts.node(VM)), ["systemctl", "stop", "irqbalance"])
    assert r.code == 1 and r.stderr.startswith("System has not been booted with systemd")


def test_irq_affinity_pinned_and_validated(hosts):
    assert on_host(hosts, VM, "echo 2 > /proc/irq/41/smp_affinity_list").code == 0
    assert on_host(hosts, VM, "cat /proc/irq/41/smp_affinity_list").stdout == "2\n"
    assert on_host(hosts, VM, "echo 9 > /proc/irq/41/smp_affinity_list").code == 1  # vm-1 has 4 CPUs


def test_tuned_missing_then_installed_then_profiled(hosts):
    r = dispatch.run(
        pod_ctx(hosts, VM),
        ["nsenter", "-t", "1", "-m", "-p", "--", "tuned-adm", "profile", "network-latency"],
    )
    assert (r.code, r.stderr) == (127, "nsenter: failed to execute tuned-adm: No such file or directory\n")
    assert on_host(hosts, VM, "tuned-adm profile network-latency").code == 127
    assert on_host(hosts, VM, "apt-get install tuned").code == 1  # no -y: apt asks and aborts
    assert on_host(hosts, VM, "apt-get install -y tuned").code == 0
    assert on_host(hosts, VM, "tuned-adm active").stdout == "Current active profile: virtual-guest\n"
    assert on_host(hosts, VM, "tuned-adm profile network-latency && tuned-adm active").stdout == (
        "Current active profile: network-latency\n"
    )
    assert on_host(hosts, VM, "tuned-adm profile warp-speed").code == 1


def test_host_tuning_moves_the_modelled_request_response_rate(hosts):
    def rr() -> float:
        a, b = hosts.node("board-1"), hosts.node("board-2")
        return network_model.expected(Path(Side(a, None, True), Side(b, None, True)), "TCP_RR").rate

    before = rr()
    for board in ("board-1", "board-2"):
        on_host(hosts, board, "cpupower frequency-set -g performance")
    assert rr() > before  # ondemand -> performance removes the frequency-ramp penalty (SIMULATED)


def test_host_settings_survive_the_state_file(tmp_path):
    first = Backend(SEED)
    first.hosts.update(BOARD, {"governor.cpu0": "performance"})
    state_file.save(first, tmp_path / "state.json")
    second = Backend(SEED)
    assert state_file.restore(second, tmp_path / "state.json")
    assert second.node_profile(BOARD).host["governor.cpu0"] == "performance"
    assert second.node_profile("board-2").host["governor"] == "ondemand"


def test_an_injected_host_fault_fails_the_write_once():
    b = Backend(SEED)
    b.faults.host_write_error(BOARD, "governor", times=1)
    ctx = pod_ctx(b.hosts, BOARD)
    ctx = replace(ctx, write_host=lambda changes: b._write_host(BOARD, changes))
    script = "echo performance > /sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"
    assert dispatch.run(ctx, [*ENTER, script]).code == 1
    assert dispatch.run(ctx, [*ENTER, script]).code == 0
    assert b.hosts.current(BOARD)["governor.cpu0"] == "performance"
