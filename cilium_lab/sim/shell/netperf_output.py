"""netperf's output, reproduced: the test banner, omni output selectors (-o CSV, -O columns, -k keyval)
and the classic tables printed without selectors.

Prints a finished `Report`. The texts follow netperf's
source (HewlettPackard/netperf src/nettest_omni.c: set_output_elt titles and formats, print_omni_csv,
print_omni_human, print_omni_keyword; src/nettest_bsd.c: print_top_test_header) and captured outputs
(cilium-cli perfpod_test.go). Simplification: only the selectors a benchmark tool asks for are
known; any other name prints as netperf prints an unknown one (an empty column).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

TITLES = {
    "TCP_STREAM": "TCP STREAM",
    "TCP_MAERTS": "TCP MAERTS",
    "UDP_STREAM": "UDP STREAM",
    "TCP_RR": "TCP REQUEST/RESPONSE",
    "UDP_RR": "UDP REQUEST/RESPONSE",
    "TCP_CRR": "TCP Connect/Request/Response",
}
UNITS = {  # netperf -f: name, factor from 10^6 bits/s
    "m": ("10^6bits", 1.0),
    "g": ("10^9bits", 1e-3),
    "k": ("10^3bits", 1e3),
    "b": ("10^0bits", 1e6),
    "M": ("MBytes", 1e6 / 8 / 2**20),
    "G": ("GBytes", 1e6 / 8 / 2**30),
    "K": ("KBytes", 1e6 / 8 / 2**10),
    "B": ("Bytes", 1e6 / 8),
}
SOCKET_SEND, SOCKET_RECV, UDP_SOCKET = 16384, 131072, 212992  # Linux defaults netperf reports


@dataclass(frozen=True)
class Report:
    """One finished netperf run: everything a selector or a table can print."""

    test: str
    target: str
    data_port: int  # 0 unless -P set one
    elapsed: float
    units: str  # -f letter
    rate: float  # 10^6bits/s for STREAM, transactions/s for RR/CRR
    mean_us: float
    min_us: int
    p50_us: int
    p90_us: int
    p99_us: int
    max_us: int
    stddev_us: float
    retransmits: int
    request: int
    response: int
    send_size: int
    mss: int
    command_line: str
    banner_notes: tuple[str, ...] = ()  # " : nodelay", " : cpu bind"

    @property
    def stream(self) -> bool:
        return "STREAM" in self.test or "MAERTS" in self.test

    def throughput(self) -> float:
        return self.rate * UNITS[self.units][1] if self.stream else self.rate

    def throughput_units(self) -> str:
        return (UNITS[self.units][0] if self.stream else "Trans") + "/s"

    def transaction_rate(self) -> float:
        return 1.0 if self.stream else self.rate  # netperf prints 1.000 for STREAM tests

    def send_calls(self) -> int:
        return (
            int(self.rate * 1e6 / 8 / self.send_size * self.elapsed)
            if self.stream
            else int(self.rate * self.elapsed)
        )


Selector = tuple[tuple[str, ...], Callable[[Report], str]]
SELECTORS: dict[str, Selector] = {
    "THROUGHPUT": (("Throughput",), lambda r: f"{r.throughput():.2f}"),
    "THROUGHPUT_UNITS": (("Throughput", "Units"), lambda r: r.throughput_units()),
    "TRANSACTION_RATE": (("Transaction", "Rate", "Tran/s"), lambda r: f"{r.transaction_rate():.3f}"),
    "RT_LATENCY": (("Round", "Trip", "Latency", "usec/tran"), lambda r: f"{r.mean_us:.3f}"),
    "MIN_LATENCY": (("Minimum", "Latency", "Microseconds"), lambda r: str(r.min_us)),
    "MAX_LATENCY": (("Maximum", "Latency", "Microseconds"), lambda r: str(r.max_us)),
    "P50_LATENCY": (("50th", "Percentile", "Latency", "Microseconds"), lambda r: str(r.p50_us)),
    "P90_LATENCY": (("90th", "Percentile", "Latency", "Microseconds"), lambda r: str(r.p90_us)),
    "P99_LATENCY": (("99th", "Percentile", "Latency", "Microseconds"), lambda r: str(r.p99_us)),
    "MEAN_LATENCY": (("Mean", "Latency", "Microseconds"), lambda r: f"{r.mean_us:.2f}"),
    "STDDEV_LATENCY": (("Stddev", "Latency", "Microseconds"), lambda r: f"{r.stddev_us:.2f}"),
    "ELAPSED_TIME": (("Elapsed", "Time", "(sec)"), lambda r: f"{r.elapsed:.2f}"),
    "PROTOCOL": (("Protocol",), lambda r: r.test.split("_")[0]),
    "DIRECTION": (("Direction",), lambda r: "Send" if r.stream else "Send|Recv"),
    "SOCKET_TYPE": (
        ("Socket", "Type"),
        lambda r: "SOCK_DGRAM" if r.test.startswith("UDP") else "SOCK_STREAM",
    ),
    "LOCAL_TRANSPORT_RETRANS": (("Local", "Transport", "Retransmissions"), lambda r: str(r.retransmits)),
    "REMOTE_TRANSPORT_RETRANS": (("Remote", "Transport", "Retransmissions"), lambda r: "0"),
    "TRANSPORT_MSS": (("Transport", "MSS", "bytes"), lambda r: str(r.mss)),
    "REQUEST_SIZE": (("Request", "Size", "Bytes"), lambda r: str(r.request)),
    "RESPONSE_SIZE": (("Response", "Size", "Bytes"), lambda r: str(r.response)),
    "LOCAL_SEND_SIZE": (("Local", "Send", "Size"), lambda r: str(r.send_size)),
    "LOCAL_RECV_SIZE": (("Local", "Recv", "Size"), lambda r: str(SOCKET_RECV if r.stream else r.response)),
    "LOCAL_SEND_CALLS": (("Local", "Send", "Calls"), lambda r: str(r.send_calls())),
    "REMOTE_RECV_CALLS": (("Remote", "Recv", "Calls"), lambda r: str(r.send_calls())),
    "LOCAL_CPU_UTIL": (("Local", "CPU", "Util", "%"), lambda r: "-1.00"),
    "REMOTE_CPU_UTIL": (("Remote", "CPU", "Util", "%"), lambda r: "-1.00"),
    "DEST_ADDR": (("Destination", "Address"), lambda r: r.target),
    "DEST_PORT": (("Destination", "Port"), lambda r: str(r.data_port)),
    "CONFIDENCE_ITERATION": (("Confidence", "Iterations", "Run"), lambda r: "1"),
    "THROUGHPUT_CONFID": (("Throughput", "Confidence", "Width (%)"), lambda r: "-1.000"),
    "COMMAND_LINE": (("Command", "Line"), lambda r: f'"{r.command_line}"'),
}
UNKNOWN: Selector = ((" ",), lambda r: " ")  # netperf maps an unknown name to OUTPUT_NONE


def banner(report: Report) -> str:
    """print_top_test_header: the line above every result unless -P 0."""
    burst = " : first burst 0" if "REQUEST/RESPONSE" in TITLES[report.test] else ""
    notes = "".join(report.banner_notes)
    return (
        f"MIGRATED {TITLES[report.test]} TEST from 0.0.0.0 (0.0.0.0) port 0 AF_INET "
        f"to {report.target} () port {report.data_port} AF_INET{notes}{burst}\n"
    )


def _selected(names: list[str]) -> list[Selector]:
    return [SELECTORS.get(n.upper(), UNKNOWN) for n in names]


def csv(report: Report, names: list[str], headers: bool) -> str:
    """-o: a line of titles (unless -P 0), then a line of comma-separated values."""
    chosen = _selected(names)
    values = ",".join(fmt(report) for _, fmt in chosen) + "\n"
    return (",".join(" ".join(lines) for lines, _ in chosen) + "\n" + values) if headers else values


def keyval(report: Report, names: list[str]) -> str:
    """-k: NAME=value per line (unknown names are skipped as netperf's OUTPUT_NONE)."""
    return "".join(
        f"{n.upper()}={SELECTORS[n.upper()][1](report)}\n" for n in names if n.upper() in SELECTORS
    )


def human(report: Report, names: list[str], headers: bool) -> str:
    """-O: four title rows and a value row in columns one wider than their widest line or value."""
    chosen = _selected(names)
    widths = [max(max(len(line) for line in lines), len(fmt(report)) + 1) + 1 for lines, fmt in chosen]
    rows = (
        [[(lines[k] if k < len(lines) else "") for lines, _ in chosen] for k in range(4)] if headers else []
    )
    rows.append([fmt(report) for _, fmt in chosen])
    return "".join("".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) + "\n" for row in rows)


def classic(report: Report, headers: bool, verbosity: int = 1) -> str:
    """The tables netperf prints without output selectors (verbosity 1; -v 0 prints just the rate)."""
    if verbosity == 0:
        return (
            f"{report.throughput():7.2f}\n" if report.test == "TCP_CRR" else f"{report.throughput():7.2f} \n"
        )
    if report.test == "UDP_STREAM":
        return _classic_udp_stream(report, headers)
    if report.stream:
        title = (
            "Recv   Send    Send                          \n"
            "Socket Socket  Message  Elapsed              \n"
            "Size   Size    Size     Time     Throughput  \n"
            f"bytes  bytes   bytes    secs.    {UNITS[report.units][0]}/sec  \n\n"
        )
        line = f"{SOCKET_RECV:6d} {SOCKET_SEND:6d} {report.send_size:6d}    {report.elapsed:<6.2f}   {report.throughput():7.2f}   \n"
        return (title if headers else "") + line
    title = (
        "Local /Remote\n"
        "Socket Size   Request  Resp.   Elapsed  Trans.\n"
        "Send   Recv   Size     Size    Time     Rate         \n"
        "bytes  Bytes  bytes    bytes   secs.    per sec   \n\n"
    )
    line1 = f"{SOCKET_SEND:<6d} {SOCKET_RECV:<6d} {report.request:<6d}   {report.response:<6d}  {report.elapsed:<6.2f}   {report.rate:7.2f}   \n"
    return (title if headers else "") + line1 + f"{SOCKET_SEND:<6d} {SOCKET_RECV:<6d}\n"


def _classic_udp_stream(report: Report, headers: bool) -> str:
    title = (
        "Socket  Message  Elapsed      Messages                \n"
        "Size    Size     Time         Okay Errors   Throughput\n"
        f"bytes   bytes    secs            #      #   {UNITS[report.units][0]}/sec\n\n"
    )
    messages = report.send_calls()
    return (title if headers else "") + (
        f"{UDP_SOCKET:6d}  {report.send_size:6d}   {report.elapsed:<7.2f}   {messages:7d} {0:6d}    {report.throughput():7.2f}\n"
        f"{UDP_SOCKET:6d}           {report.elapsed:<7.2f}   {messages:7d}           {report.throughput():7.2f}\n\n"
    )
