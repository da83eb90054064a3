"""Command lines of the emulated netperf, parsed as netperf parses them.

Global options come first, test options after `--`
(src/netsh.c GLOBAL_CMD_LINE_ARGS, src/nettest_omni.c OMNI_ARGS); bad options give netperf's own
usage text and exit code. Options that do not change the emulated result (buffer sizes, CPU
binding, alignment, ...) are accepted and ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from cilium_lab.sim.agent.runtime import ExecResult

GLOBAL_OPTIONS = "A:a:b:B:CcdD:f:F:H:hi:I:jk:K:l:L:n:NO:o:P:p:rSs:t:T:v:VW:w:y:Y:Z:46"
TEST_OPTIONS = "aBb:cCd:De:fFgG:hH:i:Ij:kK:l:L:m:M:nNoOp:P:q:r:R:s:S:t:T:u:UVw:W:46"
OPTIONAL_LIST = (
    "oOk"  # test options whose selector list is optional (taken if the next word is not an option)
)

USAGE = (
    "\nUsage: netperf [global options] -- [test options] \n\n"
    "Global options:\n"
    "    -f G|M|K|g|m|k    Set the output units\n"
    "    -h                Display this text\n"
    "    -H name|ip,fam *  Specify the target machine and/or local ip and family\n"
    "    -l testlen        Specify test duration (>0 secs) (<0 bytes|trans)\n"
    "    -p port,lport*    Specify netserver port number and/or local port\n"
    "    -P 0|1            Don't/Do display test headers\n"
    "    -t testname       Specify test to perform\n"
    "    -V                Display the netperf version and exit\n"
    "\nFor those options taking two parms, at least one must be specified;\n"
    "specifying one value without a comma will set both parms to that\n"
    "value, specifying a value with a leading comma will set just the second\n"
    "parm, a value with a trailing comma will set just the first. To set\n"
    "each parm to unique values, specify both and separate them with a\n"
    "comma.\n"
)  # abridged: netperf prints the full option list (src/netsh.c netperf_usage1/2)
OMNI_USAGE = (
    "\nUsage: netperf [global options] -- [test options] \n\n"
    "OMNI and Migrated BSD Sockets Test Options:\n"
    "    -m bytes          Set the send size (TCP_STREAM, UDP_STREAM)\n"
    "    -o [file]         Set the CSV output selection to the contents of file\n"
    "    -O [file]         Set the human output selection to the contents of file\n"
    "    -k [file]         Set the keyval output selection to the contents of file\n"
    "    -P [local],[remote] Set the local and remote port numbers\n"
    "    -r req,[rsp]      Set request/response sizes (TCP_RR, UDP_RR)\n"
    "    -R 0/1            Allow routing of traffic\n"
)  # abridged from src/nettest_omni.c omni_usage


class UsageError(Exception):
    """Bad command line: carries the ExecResult netperf would give."""

    def __init__(self, result: ExecResult) -> None:
        super().__init__(result.stderr or result.stdout)
        self.result = result


@dataclass
class NetperfArgs:
    host: str = "localhost"
    length: int = 10  # seconds (negative: bytes or transactions, as netperf -l)
    test: str = "TCP_STREAM"
    headers: bool = True
    units: str = "m"
    control_port: str = "12865"
    data_port: int = 0
    mode: str = "classic"  # "classic" | "csv" | "human" | "keyval"
    selectors: list[str] = field(default_factory=lambda: ["THROUGHPUT", "THROUGHPUT_UNITS"])
    request: int = 1
    response: int = 1
    message: int | None = None
    notes: list[str] = field(default_factory=list)
    version: bool = False
    verbosity: int = 1


def parse(argv: list[str]) -> NetperfArgs:
    """netperf's argv (without the program name) -> NetperfArgs, or UsageError."""
    args = NetperfArgs()
    split = argv.index("--") if "--" in argv else len(argv)
    for letter, value in _getopt(argv[:split], GLOBAL_OPTIONS, ""):
        _global(args, letter, value)
    for letter, value in _getopt(argv[split + 1 :], TEST_OPTIONS, OPTIONAL_LIST, omni=True):
        _test(args, letter, value)
    return args


def _getopt(words: list[str], spec: str, optional: str, omni: bool = False) -> list[tuple[str, str | None]]:
    found, i = [], 0
    while i < len(words):
        word = words[i]
        if not word.startswith("-") or word == "-":
            break  # getopt stops at the first non-option
        letter, rest = word[1:2], word[2:]
        if letter not in spec.replace(":", ""):
            _bad(f"netperf: invalid option -- '{letter}'\n", omni)
        if f"{letter}:" in spec:
            if not rest:
                i += 1
                if i >= len(words):
                    _bad(f"netperf: option requires an argument -- '{letter}'\n", omni)
                rest = words[i]
            found.append((letter, rest))
        elif letter in optional and i + 1 < len(words) and not words[i + 1].startswith("-"):
            found.append((letter, words[i + 1]))
            i += 1
        else:
            found.append((letter, rest or None))
        i += 1
    return found


def _bad(message: str, omni: bool) -> None:
    if omni:  # nettest_omni.c prints its usage on stdout
        raise UsageError(ExecResult(stdout=OMNI_USAGE, stderr=message, code=1))
    raise UsageError(ExecResult(stderr=message + USAGE, code=1))


def _global(args: NetperfArgs, letter: str, value: str | None) -> None:
    if letter == "h":
        _bad("", omni=False)
    elif letter == "H":
        args.host = (value or "").split(",")[0] or args.host
    elif letter == "l":
        args.length = _leading_int(value)
    elif letter == "t":
        args.test = (value or "").upper()
    elif letter == "P":
        args.headers = _leading_int(value) != 0
    elif letter == "f":
        args.units = value if value in ("m", "g", "k", "b", "M", "G", "K", "B") else "m"
    elif letter == "p":
        args.control_port = (value or "").split(",")[0] or args.control_port
    elif letter == "V":
        args.version = True
    elif letter == "T":
        args.notes.append(" : cpu bind")
    elif letter == "v":
        args.verbosity = _leading_int(value)


def _test(args: NetperfArgs, letter: str, value: str | None) -> None:
    if letter == "h":
        _bad("", omni=True)
    elif letter in "oOk":
        args.mode = {"o": "csv", "O": "human", "k": "keyval"}[letter]
        if value:
            args.selectors = [s.strip() for s in value.split(",") if s.strip()]
    elif letter == "r":
        request, _, response = (value or "").partition(",")
        args.request = _leading_int(request or "1")
        args.response = _leading_int(response) if response else args.request
    elif letter == "m":
        args.message = _leading_int(value)
    elif letter == "P":
        remote = (value or "").split(",")[-1]
        args.data_port = _leading_int(remote) if remote else 0
    elif letter == "D":
        args.notes.insert(0, " : nodelay")


def _leading_int(value: str | None) -> int:
    """netperf reads numbers with atoi(): the leading digits count, the rest is ignored."""
    match = re.match(r"\s*(-?\d+)", value or "")
    return int(match.group(1)) if match else 0
