"""Pod Security admission: a pod whose namespace enforces `baseline` or `restricted` is refused (403) when it
breaks that level, with the message kube-apiserver's PodSecurity plugin gives.

The checks, their order (baseline IDs sorted, then restricted IDs sorted; a restricted check replaces the
baseline check it overrides) and their wording follow k8s.io/pod-security-admission v0.32 (policy/check_*.go,
policy/checks.go AggregateCheckResult.ForbiddenDetail, admission/admission.go EvaluatePod). Simplifications:
only create is checked (as for every pod the library makes), every level version is `latest`, and the checks
kept are those a pod of this project or an operator's namespace labels can trip: host namespaces, privileged,
non-default capabilities, hostPath volumes, host ports; and for restricted allowPrivilegeEscalation,
capabilities, restricted volume types, runAsNonRoot and seccompProfile. The warn and audit labels change no
answer (their warnings are not sent).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cilium_lab.sim.state import k8s_errors

ENFORCE = "pod-security.kubernetes.io/enforce"
ENFORCE_VERSION = "pod-security.kubernetes.io/enforce-version"
LEVELS = ("privileged", "baseline", "restricted")
BASELINE_CAPABILITIES = frozenset(
    {"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE"}
    | {"SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}
)
RESTRICTED_VOLUMES = frozenset(  # the volume sources restricted allows (check_restrictedVolumes.go)
    {
        "configMap",
        "csi",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "persistentVolumeClaim",
        "projected",
        "secret",
    }
)

Pod = dict[str, Any]
Violation = tuple[str, str]  # (forbidden reason, detail)
Check = Callable[[Pod], Violation | None]


def _containers(pod: Pod) -> list[dict[str, Any]]:
    spec = pod.get("spec") or {}
    return [
        *(spec.get("initContainers") or []),
        *(spec.get("ephemeralContainers") or []),
        *(spec.get("containers") or []),
    ]


def _quote(items: list[str]) -> str:
    return '"' + '", "'.join(items) + '"' if items else ""


def _plural(word: str, items: list[str], plural: str = "") -> str:
    return word if len(items) == 1 else plural or f"{word}s"


def _context(container: dict[str, Any]) -> dict[str, Any]:
    return container.get("securityContext") or {}


def host_namespaces(pod: Pod) -> Violation | None:
    spec = pod.get("spec") or {}
    used = [f"{key}=true" for key in ("hostNetwork", "hostPID", "hostIPC") if spec.get(key)]
    return ("host namespaces", ", ".join(used)) if used else None


def privileged(pod: Pod) -> Violation | None:
    bad = [c["name"] for c in _containers(pod) if _context(c).get("privileged")]
    if not bad:
        return None
    return (
        "privileged",
        f"{_plural('container', bad)} {_quote(bad)} must not set securityContext.privileged=true",
    )


def capabilities_baseline(pod: Pod) -> Violation | None:
    bad, added = [], set()
    for c in _containers(pod):
        extra = [
            a
            for a in (_context(c).get("capabilities") or {}).get("add") or []
            if a not in BASELINE_CAPABILITIES
        ]
        if extra:
            bad.append(c["name"])
            added.update(extra)
    if not bad:
        return None
    detail = f"{_plural('container', bad)} {_quote(bad)} must not include {_quote(sorted(added))} in securityContext.capabilities.add"
    return "non-default capabilities", detail


def host_path_volumes(pod: Pod) -> Violation | None:
    bad = [v["name"] for v in (pod.get("spec") or {}).get("volumes") or [] if "hostPath" in v]
    return ("hostPath volumes", f"{_plural('volume', bad)} {_quote(bad)}") if bad else None


def host_ports(pod: Pod) -> Violation | None:
    bad, ports = [], set()
    for c in _containers(pod):
        used = [str(p["hostPort"]) for p in c.get("ports") or [] if p.get("hostPort")]
        if used:
            bad.append(c["name"])
            ports.update(used)
    if not bad:
        return None
    listed = sorted(ports)
    detail = f"{_plural('container', bad)} {_quote(bad)} {_plural('uses', bad, 'use')} {_plural('hostPort', listed)} {', '.join(listed)}"
    return "hostPort", detail


def allow_privilege_escalation(pod: Pod) -> Violation | None:
    bad = [c["name"] for c in _containers(pod) if _context(c).get("allowPrivilegeEscalation") is not False]
    if not bad:
        return None
    detail = (
        f"{_plural('container', bad)} {_quote(bad)} must set securityContext.allowPrivilegeEscalation=false"
    )
    return "allowPrivilegeEscalation != false", detail


def capabilities_restricted(pod: Pod) -> Violation | None:
    missing, adding, added = [], [], set()
    for c in _containers(pod):
        caps = _context(c).get("capabilities")
        if caps is None:
            missing.append(c["name"])
            continue
        if "ALL" not in (caps.get("drop") or []):
            missing.append(c["name"])
        extra = [a for a in caps.get("add") or [] if a != "NET_BIND_SERVICE"]
        if extra:
            adding.append(c["name"])
            added.update(extra)
    details = []
    if missing:
        details.append(
            f'{_plural("container", missing)} {_quote(missing)} must set securityContext.capabilities.drop=["ALL"]'
        )
    if adding:
        details.append(
            f"{_plural('container', adding)} {_quote(adding)} must not include {_quote(sorted(added))} in securityContext.capabilities.add"
        )
    return ("unrestricted capabilities", "; ".join(details)) if details else None


def restricted_volumes(pod: Pod) -> Violation | None:
    bad, kinds = [], set()
    for volume in (pod.get("spec") or {}).get("volumes") or []:
        sources = [k for k in volume if k != "name" and k not in RESTRICTED_VOLUMES]
        if sources:
            bad.append(volume["name"])
            kinds.update(sources)
    if not bad:
        return None
    listed = sorted(kinds)
    kind = _plural("restricted volume type", listed)
    detail = f"{_plural('volume', bad)} {_quote(bad)} {_plural('uses', bad, 'use')} {kind} {_quote(listed)}"
    return "restricted volume types", detail


def _pod_or_containers(
    pod: Pod, key: str, good: Callable[[Any], bool]
) -> tuple[list[str], list[str], list[str]]:
    """(bad setters, explicitly bad containers, implicitly bad containers) for a pod-or-container field."""
    value = ((pod.get("spec") or {}).get("securityContext") or {}).get(key)
    setters = [] if value is None or good(value) else ["pod"]
    pod_good = value is not None and good(value)
    explicit, implicit = [], []
    for c in _containers(pod):
        own = _context(c).get(key)
        if own is not None and not good(own):
            explicit.append(c["name"])
        elif own is None and not pod_good:
            implicit.append(c["name"])
    return setters, explicit, implicit


def run_as_non_root(pod: Pod) -> Violation | None:
    setters, explicit, implicit = _pod_or_containers(pod, "runAsNonRoot", lambda v: v is True)
    if explicit:
        setters.append(f"{_plural('container', explicit)} {_quote(explicit)}")
    if setters:
        return (
            "runAsNonRoot != true",
            f"{' and '.join(setters)} must not set securityContext.runAsNonRoot=false",
        )
    if implicit:
        detail = f"pod or {_plural('container', implicit)} {_quote(implicit)} must set securityContext.runAsNonRoot=true"
        return "runAsNonRoot != true", detail
    return None


def seccomp_profile(pod: Pod) -> Violation | None:
    def good(profile: Any) -> bool:
        return isinstance(profile, dict) and profile.get("type") in ("RuntimeDefault", "Localhost")

    setters, explicit, implicit = _pod_or_containers(pod, "seccompProfile", good)
    if explicit:
        setters.append(f"{_plural('container', explicit)} {_quote(explicit)}")
    if setters:
        profiles = [((pod.get("spec") or {}).get("securityContext") or {}).get("seccompProfile")] + [
            _context(c).get("seccompProfile") for c in _containers(pod)
        ]
        values = sorted({str(p.get("type", "")) for p in profiles if isinstance(p, dict) and not good(p)})
        detail = (
            f"{' and '.join(setters)} must not set securityContext.seccompProfile.type to {_quote(values)}"
        )
        return "seccompProfile", detail
    if implicit:
        detail = f'pod or {_plural("container", implicit)} {_quote(implicit)} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"'
        return "seccompProfile", detail
    return None


# in the plugin's order: baseline check IDs sorted, then restricted ones sorted
BASELINE: tuple[tuple[str, Check], ...] = (
    ("capabilities_baseline", capabilities_baseline),
    ("hostNamespaces", host_namespaces),
    ("hostPathVolumes", host_path_volumes),
    ("hostPorts", host_ports),
    ("privileged", privileged),
)
RESTRICTED: tuple[tuple[str, Check], ...] = (
    ("allowPrivilegeEscalation", allow_privilege_escalation),
    ("capabilities_restricted", capabilities_restricted),
    ("restrictedVolumes", restricted_volumes),
    ("runAsNonRoot", run_as_non_root),
    ("seccompProfile_restricted", seccomp_profile),
)
OVERRIDDEN = {"capabilities_baseline"}  # replaced by capabilities_restricted at the restricted level


def violations(level: str, pod: Pod) -> list[Violation]:
    checks = BASELINE if level == "baseline" else BASELINE + RESTRICTED if level == "restricted" else ()
    if level == "restricted":
        checks = tuple(c for c in checks if c[0] not in OVERRIDDEN)
    return [v for _, check in checks if (v := check(pod)) is not None]


def admit(namespace: dict[str, Any] | None, pod: Pod) -> None:
    """Refuse `pod` (403 Forbidden) when its namespace enforces a level the pod breaks."""
    labels = ((namespace or {}).get("metadata") or {}).get("labels") or {}
    level = labels.get(ENFORCE, "privileged")
    if level not in LEVELS or level == "privileged":
        return
    found = violations(level, pod)
    if not found:
        return
    version = labels.get(ENFORCE_VERSION, "latest")
    detail = ", ".join(f"{reason} ({why})" if why else reason for reason, why in found)
    name = (pod.get("metadata") or {}).get("name", "")
    raise k8s_errors.ApiError(
        403,
        "Forbidden",
        f'pods "{name}" is forbidden: violates PodSecurity "{level}:{version}": {detail}',
        {"name": name, "kind": "pods"},
    )
