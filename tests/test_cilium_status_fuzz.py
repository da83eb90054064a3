"""Property tests: the status parser fails only with StatusParseError, whatever it is given."""

from __future__ import annotations

import json

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from cilium_lab.cilium import CiliumStatus, parse_status
from cilium_lab.errors import StatusParseError

STATUS_KEYS = [
    "cilium", "kube-proxy-replacement", "masquerading", "routing", "host-routing", "bandwidth-manager",
    "ipv4-big-tcp", "ipv6-big-tcp", "hubble", "bpf-maps", "clock-source", "attach-mode", "datapath-mode",
    "encryption", "features", "nodePort", "socketLB", "enabled", "mode", "msg", "state", "maps", "name",
    "size", "maxGRO", "maxGSO", "devices", "deviceList", "enabledProtocols", "ipv4", "ipv6",
    "dynamic-size-ratio", "inter-host-routing-mode", "intra-host-routing-mode", "tunnel-protocol",
    "congestionControl", "acceleration", "dsrMode",
]  # fmt: skip
LABELS = ["KubeProxyReplacement", "Cilium", "IPv4 BIG TCP", "IPv6 BIG TCP", "BandwidthManager", "Routing",
          "Host Routing", "Masquerading", "Hubble", "Device Mode", "Attach Mode", "Clock Source for BPF",
          "BPF Maps", "Encryption", "KubeProxyReplacement Details", "  Mode", "  Status", "  XDP Acceleration",
          "  Socket LB", "    DSR Dispatch Mode"]  # fmt: skip

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(STATUS_KEYS) | st.text(max_size=5), children, max_size=5)
    ),
    max_leaves=25,
)
status_like_lines = st.lists(
    st.tuples(st.sampled_from(LABELS), st.sampled_from([":", ": ", ":\t", ""]), st.text(max_size=30)).map(
        "".join
    ),
    max_size=12,
).map("\n".join)


def _parse_or_refuse(text: str) -> CiliumStatus | None:
    try:
        return parse_status(text)
    except StatusParseError as err:
        assert "\n" not in str(err)
        return None


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_arbitrary_text_parses_or_is_refused(text: str) -> None:
    _parse_or_refuse(text)


@settings(max_examples=300, deadline=None)
@given(status_like_lines)
def test_status_shaped_lines_with_garbage_values_never_crash(text: str) -> None:
    result = _parse_or_refuse(text)
    if result is not None:
        assert result.lines  # a parsed status always keeps its input lines


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_arbitrary_json_documents_never_crash(doc: object) -> None:
    _parse_or_refuse(json.dumps(doc))


@settings(max_examples=150, deadline=None)
@given(json_values)
def test_arbitrary_yaml_like_documents_never_crash(doc: object) -> None:
    text = json.dumps(doc, indent=1).replace('"', "").replace("{", "").replace("}", "").replace(",", "")
    _parse_or_refuse("cilium:\n" + text)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(STATUS_KEYS), json_values, min_size=1, max_size=6))
def test_real_yaml_dumps_of_status_shaped_documents_never_crash(doc: dict[str, object]) -> None:
    text = yaml.safe_dump({key.replace("-", ""): value for key, value in doc.items()})
    _parse_or_refuse(text)
