"""The entry point for status parsing: clean the captured output, pick the JSON/YAML or text parser.

Called by `cluster.snapshot`, the change verifier and the labs with what `cilium-dbg status`
(`cilium status` before 1.15) printed inside an agent pod; calls `status_text` and `status_json`.
"""

from __future__ import annotations

import re

from cilium_lab.cilium import status_json, status_text
from cilium_lab.cilium.status import CiliumStatus
from cilium_lab.errors import StatusParseError

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
# Lines kubectl exec adds before the command's own output.
# cilium-cli's `cilium status` (run on a workstation) summarises the cluster's workloads instead.
_CILIUM_CLI_SUMMARY = re.compile(r"^(DaemonSet|Deployment)\s+cilium\S*\s+Desired:", re.MULTILINE)
_KUBECTL_NOISE = ("Defaulted container ", "Unable to use a TTY", "If you don't see a command prompt")


def clean_lines(text: str) -> list[str]:
    """Lines without ANSI colour codes, CR characters, kubectl preamble or trailing blanks."""
    text = _ANSI.sub("", text).lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    lines = [line.rstrip() for line in text.split("\n")]
    lines = [line for line in lines if not line.lstrip().startswith(_KUBECTL_NOISE)]
    while lines and not lines[-1].strip():
        lines.pop()
    while lines and not lines[0].strip():
        lines.pop(0)
    return lines


def parse_status(text: str) -> CiliumStatus:
    """Parse `cilium-dbg status [--verbose] [-o json|yaml]` output of any version from 1.10 on.

    Raises StatusParseError (one line) when the text is not status output.
    """
    if not isinstance(text, str):
        raise StatusParseError(f"status output must be text (str), got {type(text).__name__}")
    lines = clean_lines(text)
    if not lines:
        raise StatusParseError(
            "status output is empty: run `cilium-dbg status` in the cilium-agent container"
        )
    body = "\n".join(lines).strip()
    if _CILIUM_CLI_SUMMARY.search(body):
        raise StatusParseError(
            "this is cilium-cli's cluster summary (`cilium status`), not an agent's status: run "
            "`kubectl -n kube-system exec ds/cilium -c cilium-agent -- cilium-dbg status` (`cilium status` before 1.15)"
        )
    if body.startswith(("{", "[")):
        return status_json.parse_json(body, lines)
    doc = status_json.load_yaml(body)
    if doc is not None:
        return status_json.from_document(doc, lines, "yaml")
    return status_text.parse_text(lines)
