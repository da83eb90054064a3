"""The emulated `netperf`, `netserver` and `iperf3` commands of the benchmark pods (quay.io/cilium/network-perf).

`run(ctx, argv, concurrent)` takes the exec's `ExecContext` and argv; `concurrent` is how many
netperf processes the same `sh -c '... & ... & wait'` line started. Parsing is `netperf_args`, the
expected values and the seeded run come from the performance model, netperf's texts from
`netperf_output`; `iperf3` goes to `iperf3_emu`.

Simplifications (decided here):
- Who listens: every address the cluster resolves to a pod or a node answers on netperf's control
  port, because the benchmark server pods start `netserver -D` as their container command, which
  the emulator never executes. Addresses that resolve to nothing, and pod addresses on a node (or
  from a node) without a running agent, fail exactly as real netperf fails to reach a netserver.
  The emulated `netserver` only prints what the real one prints and returns.
- Time: a run advances the virtual clock by its duration divided by `concurrent`, so a line of N
  concurrent processes (each run once by the shell) moves the clock by one duration in total.
- Concurrency: the N processes of a line are modelled as N copies of this test sharing CPUs and
  the link; `load` (if the shell passes it) says how many of them are bulk streams, which widens the
  latency tail of RR/CRR processes beside them.
- NodePort: `-H <node IP> -p <nodePort>` reaches the Service behind that node port through that
  node (its XDP and DSR settings count); the data port (-- -P) is assumed to be a node port of the
  same Service and is not checked.
- No DNS: -H takes an IP address; `localhost` reaches the node's host-network server from a
  hostNetwork pod and nothing from a pod. IPv6 targets fail (the modelled pod network is IPv4).
"""

from __future__ import annotations

import ipaddress
import posixpath

from cilium_lab.sim.agent.runtime import ExecContext, ExecResult
from cilium_lab.sim.perf import effects, network_model, noise, path_resolution
from cilium_lab.sim.perf.path import Path
from cilium_lab.sim.shell import iperf3_emu
from cilium_lab.sim.shell import netperf_output as output
from cilium_lab.sim.shell.netperf_args import NetperfArgs, UsageError, parse

VERSION = "2.7.1"  # src/configure.ac AC_INIT(netperf, 2.7.1)
SYN_TIMEOUT = 127.0  # s: Linux gives up a connect() after 6 SYN retries (1+2+4+8+16+32+64)
NETPERF_EXIT_NO_CONTROL = 255  # exit(INVALID_SOCKET), i.e. exit(-1)


def run(ctx: ExecContext, argv: list[str], concurrent: int = 1, *, load: int = 0) -> ExecResult:
    """Run one emulated benchmark command; argv[0] names the program (a path is fine).

    `load`: how many of the `concurrent` processes are bulk STREAM tests; RR/CRR processes running
    beside them see latency under load (their p90/p99 widen unless the Bandwidth Manager is on)."""
    program = posixpath.basename(argv[0]) if argv else ""
    if program == "netperf":
        return _netperf(ctx, argv[1:], max(1, concurrent), max(0, load))
    if program == "netserver":
        return _netserver(argv[1:])
    if program == "iperf3":
        return iperf3_emu.run(ctx, argv[1:], max(1, concurrent))
    return ExecResult(stderr=f"sh: 1: {program}: not found\n", code=127)


def _netperf(ctx: ExecContext, argv: list[str], concurrent: int, load: int) -> ExecResult:
    try:
        args = parse(argv)
    except UsageError as err:
        return err.result
    if args.version:
        return ExecResult(stdout=f"Netperf version {VERSION}\n")
    if args.test not in network_model.TESTS:
        return ExecResult(stdout=_unknown_test(args.test), code=1)
    ip = "127.0.0.1" if args.host == "localhost" else args.host
    family = _family(ip)
    if family is None:
        return ExecResult(stdout=_unresolvable(args.host), code=NETPERF_EXIT_NO_CONTROL)
    # the pod network is IPv4; a node port (-p) may lead to a Service through that node
    path = path_resolution.path_to(ctx, ip, args.control_port) if family == "AF_INET" else None
    if path is None:
        ctx.advance(SYN_TIMEOUT / concurrent)
        return ExecResult(stdout=_no_control(ip, args.control_port, family), code=NETPERF_EXIT_NO_CONTROL)
    return _measure(
        ctx, args, path, concurrent=concurrent, load=load, command_line="netperf " + " ".join(argv)
    )


def _measure(
    ctx: ExecContext,
    args: NetperfArgs,
    path: Path,
    *,
    concurrent: int,
    load: int,
    command_line: str,
) -> ExecResult:
    """One run: the model's expectation for this path, a seeded sample, the clock, netperf's text."""
    if args.test == "TCP_MAERTS":
        path = path.reversed()
    rr_load = load if "STREAM" not in args.test else 0
    expectation = network_model.expected(
        path,
        args.test,
        concurrent,
        load=rr_load,
        request=args.request,
        response=args.response,
        message=args.message,
    )
    duration = _duration(args.length, expectation)
    run = noise.sample(expectation, ctx.rng, duration)
    ctx.advance(duration / concurrent)
    report = output.Report(
        test=args.test,
        target=args.host,
        data_port=args.data_port,
        elapsed=duration,
        units=args.units,
        rate=run.rate,
        mean_us=run.mean_us,
        min_us=run.min_us,
        p50_us=run.p50_us,
        p90_us=run.p90_us,
        p99_us=run.p99_us,
        max_us=run.max_us,
        stddev_us=run.stddev_us,
        retransmits=run.retransmits,
        request=args.request,
        response=args.response,
        send_size=args.message or (1024 if args.test == "UDP_STREAM" else network_model.SEND_SIZE),
        mss=effects.path_mtu(path) - effects.TCP_IP_HEADERS,
        command_line=command_line,
        banner_notes=tuple(args.notes),
    )
    return ExecResult(stdout=(output.banner(report) if args.headers else "") + _body(args, report))


def _body(args: NetperfArgs, report: output.Report) -> str:
    if args.mode == "csv":
        return output.csv(report, args.selectors, args.headers)
    if args.mode == "keyval":
        return output.keyval(report, args.selectors)
    if args.mode == "human":
        return output.human(report, args.selectors, args.headers)
    return output.classic(report, args.headers, args.verbosity)


def _duration(length: int, expectation: network_model.Expectation) -> float:
    """netperf -l: positive seconds; negative bytes (STREAM) or transactions (RR) to complete."""
    if length > 0:
        return float(length)
    if length == 0:
        return 10.0
    amount = -length * 8 / 1e6 if expectation.kind == "stream" else -length
    return amount / max(expectation.rate, 1e-9)


def _family(host: str) -> str | None:
    """AF_INET/AF_INET6 for an address literal; None for a name (the emulator has no DNS)."""
    try:
        return "AF_INET" if ipaddress.ip_address(host).version == 4 else "AF_INET6"
    except ValueError:
        return None


def _no_control(ip: str, port: str, family: str = "AF_INET") -> str:
    """src/netlib.c establish_control_internal / establish_control."""
    return (
        f"establish control: are you sure there is a netserver listening on {ip} at port {port}?\n"
        "establish_control could not establish the control connection from 0.0.0.0 port 0 "
        f"address family AF_UNSPEC to {ip} port {port} address family {family}\n"
    )


def _unresolvable(host: str) -> str:
    """src/netlib.c resolve_host and src/netsh.c: a -H name getaddrinfo does not know."""
    return (
        f"resolve_host: could not resolve host '{host}' port '(null)' af AF_UNSPEC\n"
        "\tgetaddrinfo returned -2 Name or service not known\n"
        f"Netperf could not resolve {host} as a host name\n"
    )


def _unknown_test(test: str) -> str:
    """src/netperf.c main."""
    return (
        f"The test you requested ({test}) is unknown to this netperf.\n"
        "Please verify that you have the correct test name, \n"
        "and that test family has been compiled into this netperf.\n"
    )


def _netserver(argv: list[str]) -> ExecResult:
    """src/netserver.c: prints where it listens; -D keeps it in the foreground (here it returns)."""
    port, words = "12865", list(argv)
    while words:
        word = words.pop(0)
        letter, rest = word[1:2], word[2:]
        if not word.startswith("-") or letter not in NETSERVER_OPTIONS.replace(":", "") or letter == "h":
            invalid = "" if letter == "h" else f"netserver: invalid option -- '{letter or word}'\n"
            return ExecResult(stderr=invalid + NETSERVER_USAGE, code=1)
        if f"{letter}:" in NETSERVER_OPTIONS and not rest:
            rest = words.pop(0) if words else ""
        if letter == "p":
            port = rest or port
        elif letter == "V":
            return ExecResult(stdout=f"Netperf version {VERSION}\n")
    return ExecResult(
        stdout=f"Starting netserver with host 'IN(6)ADDR_ANY' port '{port}' and family AF_UNSPEC\n"
    )


NETSERVER_OPTIONS = "DdfhL:n:Np:v:VZ:46"  # src/netserver.c SERVER_ARGS
NETSERVER_USAGE = (
    "\nUsage: netserver [options] \n\nOptions:\n"
    "    -h                Display this text\n"
    "    -D                Do not daemonize\n"
    "    -d                Increase debugging output\n"
    "    -f                Do not spawn chilren for each test, run serially\n"
    "    -L name,family    Use name to pick listen address and family for family\n"
    "    -N                No debugging output, even if netperf asks\n"
    "    -p portnum        Listen for connect requests on portnum.\n"
    "    -4                Do IPv4\n"
    "    -6                Do IPv6\n"
    "    -v verbosity      Specify the verbosity level\n"
    "    -V                Display version information and exit\n"
    "    -Z passphrase     Expect passphrase as the first thing received\n\n"
)  # src/netsh.c netserver_usage
