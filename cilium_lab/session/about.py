"""Words about one catalogue item, generated from the catalogue so they are written once."""

from __future__ import annotations

from cilium_lab import catalog
from cilium_lab.catalog import Item, Requirement


def requirement_text(req: Requirement) -> str:
    if isinstance(req, catalog.ItemEnabled):
        return f"{catalog.get(req.item).title} first ({req.why})"
    if isinstance(req, catalog.KernelAtLeast):
        text = f"kernel >= {' / '.join(req.versions)} ({req.why})"
    elif isinstance(req, catalog.NicDriverIn):
        text = f"NIC driver one of {', '.join(sorted(req.drivers))} ({req.why})"
    elif isinstance(req, catalog.DeviceMtuAtLeast):
        text = f"device and underlay carry {req.mtu}-byte frames ({req.why})"
    else:
        text = f"Cilium >= {req.version} ({req.why})"
    return f"{req.what}: {text}" if req.what else text


def markdown(item: Item) -> str:
    lines = [f"**{item.title}**: {item.summary}", ""]
    if item.requires:
        lines.append("**Requires**")
        lines += [f"- {requirement_text(req)} [source]({req.source})" for req in item.requires]
        lines.append("")
    if item.targets:
        settings = ", ".join(
            f"`{k}={v.name if isinstance(v, catalog.Param) else v}`" for k, v in item.targets.items()
        )
        lines += [f"**Changes**: {settings}", ""]
    if item.restart:
        lines += [f"**Restarts**: {', '.join(item.restart)}", ""]
    if item.caveats:
        lines.append("**Caveats**")
        lines += [f"- {caveat}" for caveat in item.caveats]
        lines.append("")
    if item.fallback:
        lines += [
            f"**Where a node cannot take it**: {catalog.get(item.fallback).title} (lab {catalog.get(item.fallback).lab}).",
            "",
        ]
    lines.append("**Sources**: " + ", ".join(f"[{i + 1}]({url})" for i, url in enumerate(item.sources)))
    return "\n".join(lines)
