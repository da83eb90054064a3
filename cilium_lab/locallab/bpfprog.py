"""BPF host routing for the local lab: compile `bpf/redirect_peer.c` with clang, attach it with tc.

Called by `locallab.knobs` (bpf-host-routing, big-tcp) and `locallab.probe`; calls clang and
`ip -n NODE tc ...` through `locallab.shell`. Objects are built in the topology's temporary work
directory (never stored in the repo) and disappear with it.
"""

from __future__ import annotations

import ipaddress
import json
import os
import platform
from pathlib import Path

from cilium_lab.locallab import shell
from cilium_lab.locallab.topology import POD_DEV, Pod, Topology, ip

SOURCE = Path(__file__).with_name("bpf") / "redirect_peer.c"


def multiarch_include() -> str:
    """Debian's multiarch include dir (asm/types.h lives there), e.g. /usr/include/x86_64-linux-gnu."""
    machine = {"x86_64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}.get(platform.machine(), "")
    return f"/usr/include/{machine}-linux-gnu" if machine else "/usr/include"


def as_hex(values: bytes) -> str:
    """Bytes as one big-endian hex constant for the C source, e.g. b'\\x0a\\xc8' -> '0x0ac8ULL'."""
    return f"0x{values.hex()}ULL"


def mac_bytes(mac: str) -> bytes:
    """'aa:bb:cc:dd:ee:ff' -> 6 bytes."""
    return bytes(int(part, 16) for part in mac.split(":"))


def compile_argv(out: str, *, ifindex: int, dmac: str, smac: str, dst4: str, dst6: str) -> list[str]:
    """The clang command that builds one direction of the redirect program."""
    defines = {
        "TARGET_IFINDEX": str(ifindex),
        "DMAC": as_hex(mac_bytes(dmac)),
        "SMAC": as_hex(mac_bytes(smac)),
        "DST4": as_hex(ipaddress.IPv4Address(dst4).packed),
        "DST6_HI": as_hex(ipaddress.IPv6Address(dst6 or "::").packed[:8]),
        "DST6_LO": as_hex(ipaddress.IPv6Address(dst6 or "::").packed[8:]),
    }
    flags = [f"-D{name}={value}" for name, value in defines.items()]
    return [
        "clang",
        "-O2",
        "-g",
        "-target",
        "bpf",
        f"-I{multiarch_include()}",
        *flags,
        "-c",
        str(SOURCE),
        "-o",
        out,
    ]


def link_info(netns: str, dev: str) -> dict[str, object]:
    """`ip -j link show` of one device in one of our namespaces."""
    return json.loads(shell.run(ip(netns, "-j", "link", "show", dev)))[0]


def build_redirect(topo: Topology, dst: Pod) -> str:
    """Compile the program that delivers packets for `dst` into its namespace; return the object path."""
    host = link_info(dst.node, dst.host_dev)
    pod = link_info(dst.netns, POD_DEV)
    out = os.path.join(topo.workdir, f"to_{dst.netns}.o")
    shell.run(
        compile_argv(
            out,
            ifindex=int(host["ifindex"]),  # type: ignore[call-overload]
            dmac=str(pod["address"]),
            smac=str(host["address"]),
            dst4=dst.ipv4,
            dst6=dst.ipv6,
        ),
        timeout=120,
    )
    return out


def attach(node: str, dev: str, obj: str) -> None:
    """Attach `obj` at tc ingress (direct-action) of `dev` in namespace `node`."""
    shell.run(shell.in_netns(node, ["tc", "qdisc", "replace", "dev", dev, "clsact"]))
    shell.run(
        shell.in_netns(
            node, ["tc", "filter", "replace", "dev", dev, "ingress", "bpf", "da", "obj", obj, "sec", "tc"]
        )
    )


def detach(node: str, dev: str) -> None:
    """Remove the clsact qdisc (and with it the program) from `dev`; no error when none is attached."""
    shell.run(shell.in_netns(node, ["tc", "qdisc", "del", "dev", dev, "clsact"]), check=False)


def attached(node: str, dev: str) -> bool:
    """True when a JIT-ed BPF program named redirect_peer sits at ingress of `dev`."""
    out = shell.run(shell.in_netns(node, ["tc", "filter", "show", "dev", dev, "ingress"]), check=False)
    return "redirect_peer" in out
