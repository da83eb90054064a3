"""`cilium-dbg status` of the emulated agent, line by line against real outputs of each version.

Each fixture in tests/fixtures/status_lines/<minor>/ is a real output copied from a public thread, with
its provenance and the features it shows in YAML front matter. The test configures an emulated agent of
that version with those features through the emulator's own machinery (a shipped profile, cilium-config
keys, the node's NIC, addresses and CPUs), renders `cilium-dbg status [--verbose]` and compares the
fixture's lines with the rendered ones: the same lines, in the same order, with the same labels and
column padding. Only the per-cluster values named in RULES are normalised, on both sides alike.
Threads often show only part of an output: `window: head` fixtures start at the first line, `tail`
fixtures end at the last; inside the window no line may be missing or extra.

Every fixture also goes through `parse_status`: the parser must read the real lines as the features the
fixture states, and read the rendered window the same way.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from cilium_lab.cilium import CiliumStatus, parse_status
from cilium_lab.sim.agent import startup, status_output
from cilium_lab.sim.state import profiles

FIXTURES = Path(__file__).parent / "fixtures" / "status_lines"
NOW = "2026-12-05T10:00:00Z"

_IP = r"(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7})"

# (name, the line it applies to, pattern, replacement): the values a real cluster decides and the
# emulator cannot know. Anything not listed here is compared as printed.
RULES: tuple[tuple[str, str, str, str], ...] = (
    ("git hash of the build", "Cilium:", r"\((v\S+?)-[0-9a-f]{7,10}\)", r"(\1-<git hash>)"),
    ("addresses of the devices", "KubeProxyReplacement:", rf"{_IP}(?: {_IP})*", "<addresses>"),
    ("addresses of the devices", "  Devices:", rf"{_IP}(?: {_IP})*", "<addresses>"),
    ("IPAM usage", "IPAM:", r"\d+/\d+ allocated", "<used>/<size> allocated"),
    ("controller count", "Controller Status:", r"\d+/\d+ healthy", "<n>/<n> healthy"),
    ("health endpoint address", "Proxy Status:", rf"ip {_IP},", "ip <ip>,"),
    (
        "Hubble flow counters",
        "Hubble:",
        r"Current/Max Flows: \d+/\d+ \(\d+\.\d\d%\), Flows/s: \d+\.\d\d",
        "Current/Max Flows: <current>/<max> (<percent>), Flows/s: <rate>",
    ),
    # the emulated node has one NIC; the devices' cell is a tabwriter column of its own, so the
    # padding after it is still compared
    ("masquerading devices", "Masquerading:", r"\[[^\]]*\](?=   \S)", "[<devices>]"),
    ("time of the last health probe", "Cluster health:", r"\(\d{4}-\d\d-\d\dT[\d:]+Z\)", "(<time>)"),
    (
        "health probe interval",
        "Cluster health:",
        r"\(Probe interval: [\d.hms]+\)",
        "(Probe interval: <interval>)",
    ),
    ("the API server's minor version string (EKS: 27+)", "Kubernetes:", r"(\d+\.\d+)\+ \(", r"\1 ("),
    ("etcd session lease IDs (up to 1.13)", "KVStore:", r"lease-ID=[0-9a-f]+", "lease-ID=<lease>"),
    (
        "etcd endpoint and server version",
        "KVStore:",
        r"(has-quorum=true): \S+ - \d+\.\d+\.\d+ ",
        r"\1: <endpoint> - <etcd version> ",
    ),
    # entries = the node's memory x the ratio / bytes per entry: the host's RAM, which the profile's
    # whole GiB cannot match; the ratios between these rows are checked across lines below
    *(
        (f"dynamically sized map ({name})", f"  {name} ", rf"^(  {name} +)\d+$", r"\1<entries>")
        for name in (
            "Non-TCP connection tracking",
            "TCP connection tracking",
            "NAT",
            "Neighbor table",
            "Sock reverse NAT",
        )
    ),
    ("WireGuard public key of the node", "Encryption:", r"Pubkey: [A-Za-z0-9+/]{43}=", "Pubkey: <key>"),
    ("module counts", "Modules Health:", r"Stopped\(\d+\) Degraded\(\d+\) OK\(\d+\)", "<module counts>"),
)
_ALLOCATION = re.compile(r"^  \S+ \(.+\)$")
_CONTROLLERS = re.compile(r"^  Name +Last success +Last error +Count +Message$")


def load(path: Path) -> tuple[dict[str, Any], str]:
    """The fixture's front matter and its text (the real output, as published)."""
    _, front, body = path.read_text().split("---\n", 2)
    return yaml.safe_load(front), body


def normalise(text: str) -> list[str]:
    """The lines with RULES applied, trailing blanks dropped (threads strip them unevenly), the rows
    under "Allocated addresses:" (one per pod on that node) folded into one, and the --verbose controller
    table (one row per controller and endpoint, with their timings) folded into one."""
    out: list[str] = []
    for line in text.splitlines():
        line = line.rstrip()
        if _CONTROLLERS.match(line):
            out.append("  <controller table>")
            continue
        if out and out[-1] == "  <controller table>" and line.startswith("  "):
            continue
        if _ALLOCATION.match(line) and out and out[-1] in ("Allocated addresses:", "  <allocations>"):
            if out[-1] != "  <allocations>":
                out.append("  <allocations>")
            continue
        for _, label, pattern, replacement in RULES:
            if line.startswith(label):
                line = re.sub(pattern, replacement, line)
        out.append(line)
    return out


def render(meta: dict[str, Any]) -> str:
    """`cilium-dbg status` of an emulated agent set up as the fixture's `emulate` block says."""
    spec = meta["emulate"]
    profile = profiles.load(spec["profile"])
    node = profile.nodes[spec.get("node_index", 0)]
    over = spec.get("node", {})
    node = dataclasses.replace(
        node,
        nic=dataclasses.replace(
            node.nic,
            name=over.get("nic", node.nic.name),
            ipv6_link_local=over.get("ipv6_link_local", node.nic.ipv6_link_local),
            ipv6_global=over.get("ipv6_global", node.nic.ipv6_global),
        ),
        internal_ip=over.get("internal_ip", node.internal_ip),
        pod_cidr=over.get("pod_cidr", node.pod_cidr),
        cpus=over.get("cpus", node.cpus),
        memory_gib=over.get("memory_gib", node.memory_gib),
        name=over.get("name", node.name),
    )
    config = {**profile.cilium_config, **{k: str(v) for k, v in spec.get("config", {}).items()}}
    boot = startup.boot(spec["version"], config, node)
    assert boot.ok, boot.error
    return status_output.render_text(
        boot.datapath,
        node,
        spec["version"],
        config,
        verbose=spec.get("verbose", False),
        kubernetes_version=spec["kubernetes_version"],
        cluster_nodes=spec.get("cluster_nodes", 1),
        now=NOW,
        peers=[tuple(peer) for peer in spec.get("peers", ())],
    )


def window(meta: dict[str, Any], real: list[str], rendered: list[str]) -> list[str]:
    """The rendered lines that the fixture's window covers."""
    if meta["window"] == "head":
        return rendered[: len(real)]
    assert meta["window"] == "tail", meta["window"]
    return rendered[-len(real) :]


FILES = sorted(FIXTURES.glob("*/*.txt"))


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_rendered_lines_match_the_real_output(path: Path) -> None:
    meta, body = load(path)
    real = normalise(body)
    rendered = normalise(render(meta))
    shown = window(meta, real, rendered)
    for number, (want, got) in enumerate(zip(real, shown, strict=False), 1):
        assert got == want, f"line {number} of {path.name}:\n real: {want!r}\n emul: {got!r}"
    assert len(shown) == len(real), f"{path.name}: the emulator prints fewer lines than the window"


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_parser_reads_real_and_rendered_lines_alike(path: Path) -> None:
    meta, body = load(path)
    real = parse_status(body)
    for name, value in meta["features"].items():
        want = tuple(value) if isinstance(value, list) else value
        assert getattr(real, name) == want, f"{path.name}: the parser reads {name} wrongly"
    for label, value in meta.get("fields", {}).items():
        assert real.fields[label] == value, f"{path.name}: the parser reads {label!r} wrongly"
    emulated = parse_status("\n".join(raw_window(meta, body, render(meta))))
    per_cluster = set(meta.get("per_cluster", ()))
    for attribute in dataclasses.fields(CiliumStatus):
        if attribute.name in {"lines", "fields", "source"} | per_cluster:
            continue
        assert getattr(emulated, attribute.name) == getattr(real, attribute.name), (
            f"{path.name}: {attribute.name} parses differently from the rendered output"
        )


def raw_window(meta: dict[str, Any], body: str, rendered: str) -> list[str]:
    """The rendered lines, as printed, that the window covers: the longest run from the start (head)
    or to the end (tail) that normalises to as many lines as the fixture does."""
    want, lines = len(normalise(body)), rendered.splitlines()
    if meta["window"] == "head":
        ends = [n for n in range(len(lines) + 1) if len(normalise("\n".join(lines[:n]))) == want]
        return lines[: max(ends)]
    starts = [n for n in range(len(lines) + 1) if len(normalise("\n".join(lines[n:]))) == want]
    return lines[min(starts) :]


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_fixture_has_provenance(path: Path) -> None:
    meta, body = load(path)
    assert meta["kind"] == "real" and meta["source"].startswith("https://github.com/"), path.name
    assert meta["version"] and meta["recorded"] and meta["edits"] and meta["window"] in {"head", "tail"}
    assert path.parent.name == ".".join(str(meta["emulate"]["version"]).split(".")[:2])
    assert body.strip() and meta["features"]


def test_versions_covered() -> None:
    minors = {path.parent.name for path in FILES}
    # the series' own 1.13, the releases around it, and the newest the profiles emulate (1.18)
    assert {"1.10", "1.13", "1.14", "1.15", "1.16", "1.17", "1.18"} <= minors


def test_the_proxy_listens_on_the_router_address_as_in_the_real_verbose_output() -> None:
    """A value the normalisation hides, checked across lines instead: the real 1.13.4 --verbose output
    lists the Proxy Status address as the router's allocation, and so must the emulated one."""
    meta, body = load(FIXTURES / "1.13" / "v1.13.4-eks-verbose-cookbook.txt")
    for text in (body, render(meta)):
        proxy = re.search(r"^Proxy Status: +OK, ip (\S+),", text, re.MULTILINE)
        assert proxy and f"  {proxy[1]} (router)" in text.splitlines()


@pytest.mark.parametrize(
    "path",
    [
        FIXTURES / "1.13" / "v1.13.4-eks-verbose-cookbook.txt",
        FIXTURES / "1.15" / "v1.15.0-rc.1-kind-kpr-verbose-head-wcni-kind.txt",
    ],
    ids=["1.13.4", "1.15.0-rc.1"],
)
def test_dynamically_sized_maps_keep_the_agents_ratios(path: Path) -> None:
    """What the map-size normalisation hides, checked across rows instead: in the real --verbose
    outputs NAT and the neighbour table are as large as the TCP CT map, the non-TCP CT and socket
    reverse-NAT maps half of it; so must they be in the emulated ones."""
    meta, body = load(path)
    for text in (body, render(meta)):
        maps = parse_status(text).maps
        tcp = maps["TCP connection tracking"]
        assert maps["NAT"] == maps["Neighbor table"] == tcp
        assert maps["Non-TCP connection tracking"] == maps["Sock reverse NAT"] == tcp // 2


def test_a_changed_line_fails_the_comparison() -> None:
    """The comparison is not blind: one real line altered no longer matches the rendered output."""
    path = FIXTURES / "1.15" / "v1.15.1-chaining-portmap-head-issue32065.txt"
    meta, body = load(path)
    rendered = normalise(render(meta))
    assert window(meta, normalise(body), rendered) == normalise(body)
    altered = body.replace("CNI Chaining:            portmap", "CNI Chaining:            none")
    assert window(meta, normalise(altered), rendered) != normalise(altered)
