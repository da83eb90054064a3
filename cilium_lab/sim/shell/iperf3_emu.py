"""The emulated `iperf3` (3.21, as in quay.io/cilium/network-perf) of the benchmark pods.

Uses the performance model (where the address lands, the expected rate, seeded noise) and
`iperf3_output` (the -J JSON document and the plain-text report). Supports -c/-s, -t, -P, -R,
-J, -p, -u with -b, -l, -O, -i. Simplifications: every resolved address runs an iperf3 server (as
for netserver); the clock advances by the test's length; CPU utilisation is a rough estimate (the
model has no CPU accounting).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from cilium_lab.sim.agent.runtime import ExecContext, ExecResult
from cilium_lab.sim.perf import effects, network_model, noise, path_resolution
from cilium_lab.sim.perf.path import Path
from cilium_lab.sim.shell import iperf3_output

USAGE = "Usage: iperf3 [-s|-c host] [options]\n       iperf3 [-h|--help] [-v|--version]\n"
WITH_ARG = {"-c", "-p", "-t", "-P", "-b", "-l", "-O", "-i", "-f", "-C", "-B", "-w", "-M"}
LONG = {
    "--client": "-c",
    "--port": "-p",
    "--time": "-t",
    "--parallel": "-P",
    "--bitrate": "-b",
    "--bandwidth": "-b",
    "--length": "-l",
    "--omit": "-O",
    "--interval": "-i",
    "--format": "-f",
    "--congestion": "-C",
    "--json": "-J",
    "--reverse": "-R",
    "--udp": "-u",
    "--server": "-s",
    "--one-off": "-1",
    "--daemon": "-D",
    "--version": "-v",
    "--help": "-h",
    "--bind": "-B",
    "--window": "-w",
    "--set-mss": "-M",
}
FLAGS = {"-J", "-R", "-u", "-s", "-1", "-D", "-v", "-h", "-4", "-6", "-V", "-Z", "-N"}
UDP_DEFAULT_BITRATE = 1e6  # iperf3's default target for UDP, bits/s


@dataclass
class IperfArgs:
    server: bool = False
    host: str = ""
    port: int = 5201
    seconds: float = 10.0
    streams: int = 1
    json: bool = False
    reverse: bool = False
    udp: bool = False
    bitrate: float | None = None  # bits/s; 0 = unlimited
    length: int | None = None
    omit: int = 0
    version: bool = False


def run(ctx: ExecContext, argv: list[str], concurrent: int = 1) -> ExecResult:
    """One iperf3 invocation (argv without the program name); `concurrent` iperf3 clients share the path."""
    try:
        args = _parse(argv)
    except ValueError as err:
        return ExecResult(stderr=f"iperf3: {err}\n{USAGE}", code=1)
    if args.version:
        return ExecResult(
            stdout="iperf 3.21 (cJSON 1.7.15)\nOptional features available: CPU affinity setting\n"
        )
    if args.server:
        return ExecResult(stdout=iperf3_output.server_banner(args.port))
    path = path_resolution.path_to(ctx, args.host, args.port) if _is_ipv4(args.host) else None
    if path is None:
        cause = "Connection timed out" if _is_ip(args.host) else "Name or service not known"
        return _error(
            args,
            "unable to connect to server - server may have stopped running or use a "
            f"different port, firewall issue, etc.: {cause}",
        )
    return _client(ctx, args, path, concurrent)


def _client(ctx: ExecContext, args: IperfArgs, path: Path, concurrent: int) -> ExecResult:
    if args.reverse:
        path = path.reversed()
    expectation = network_model.expected(
        path,
        "UDP_STREAM" if args.udp else "TCP_STREAM",
        args.streams * concurrent,
        message=args.length or (1448 if args.udp else None),
    )
    runs = [noise.sample(expectation, ctx.rng, args.seconds) for _ in range(args.streams)]
    rates = [r.rate * 1e6 for r in runs]
    if args.udp:
        target = UDP_DEFAULT_BITRATE if args.bitrate is None else args.bitrate
        rates = [
            min(target, rate * 1.2) if target else rate for rate in rates
        ]  # sent; the path carries `offered`
    ctx.advance((args.seconds + args.omit) / concurrent)  # as netperf: N concurrent clients, one duration
    report = iperf3_output.Report(
        local=ctx.pod_ip or ctx.node.internal_ip,
        remote=args.host,
        port=args.port,
        seconds=args.seconds,
        udp=args.udp,
        reverse=args.reverse,
        offered=[r.rate * 1e6 for r in runs],
        rates=rates,
        retransmits=[r.retransmits for r in runs],
        rtt_us=network_model.expected(path, "TCP_RR").latency_us,
        mss=effects.path_mtu(path) - effects.TCP_IP_HEADERS,
        congestion=effects.sender_congestion(path),
        cpus=path.client.node.cpus,
        rng=ctx.rng,
    )
    return ExecResult(stdout=iperf3_output.json_document(report) if args.json else iperf3_output.text(report))


def _error(args: IperfArgs, message: str) -> ExecResult:
    if args.json:
        return ExecResult(stdout=iperf3_output.json_error(message), code=1)
    return ExecResult(stderr=f"iperf3: error - {message}\n", code=1)


def _parse(argv: list[str]) -> IperfArgs:
    args, words = IperfArgs(), list(argv)
    while words:
        option, value = _next_option(words)
        _apply(args, option, value)
    if not args.server and not args.host and not args.version:
        raise ValueError("parameter error - must either be a client (-c) or server (-s)")
    return args


def _next_option(words: list[str]) -> tuple[str, str | None]:
    word = words.pop(0)
    if word.startswith("--"):
        name, _, inline = word.partition("=")
        if name not in LONG:
            raise ValueError(f"unrecognized option '{word}'")
        option = LONG[name]
        value = inline or (words.pop(0) if option in WITH_ARG and words else None)
        return option, value
    option, rest = word[:2], word[2:]
    if option not in WITH_ARG and option not in FLAGS:
        raise ValueError(f"invalid option -- '{word[1:2]}'")
    if option in WITH_ARG:
        if not rest and not words:
            raise ValueError(f"option requires an argument -- '{option[1]}'")
        return option, rest or words.pop(0)
    return option, None


def _apply(args: IperfArgs, option: str, value: str | None) -> None:
    number = {"-p": "port", "-P": "streams", "-l": "length", "-O": "omit"}
    if option == "-c":
        args.host = value or ""
    elif option in number:
        setattr(args, number[option], int(_unit_number(value or "0")))
    elif option == "-t":
        args.seconds = float(value or 10)
    elif option == "-b":
        args.bitrate = _unit_number(value or "0")
    elif option in ("-s", "-J", "-R", "-u"):
        setattr(args, {"-s": "server", "-J": "json", "-R": "reverse", "-u": "udp"}[option], True)
    elif option in ("-v", "-V"):
        args.version = option == "-v"
    elif option == "-h":
        raise ValueError("help requested")
    if args.streams < 1 or args.streams > 128:
        raise ValueError("parameter error - number of parallel streams must be between 1 and 128")


def _unit_number(text: str) -> float:
    """iperf3's [KMG] suffixes: 10M -> 10e6 (bitrates), 128K -> 131072 (lengths use 1024; kept 1000 here)."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([kKmMgGtT]?)(?:/\d+)?", text.strip())
    if not match:
        raise ValueError(f"parameter error - invalid number '{text}'")
    scale = {"": 1, "k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12}[match.group(2).lower()]
    return float(match.group(1)) * scale


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _is_ipv4(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).version == 4
    except ValueError:
        return False
