"""The local kernel lab inside a lab notebook: `cluster="local"` measures the step's host-level
equivalent with real packets between network namespaces on this host (needs root).

Which labs have such an equivalent, and their one measurement (`locallab.run`). There is no cluster:
the snapshot, plan and apply steps say they are skipped, and one A/B run (interleaved, paired) gives
the comparison. Its samples go to the lab's results store (phases A and B). Results are labelled
LOCAL KERNEL, never SIMULATED and never as a cluster measurement. (`cli.local` is the command-line
verb for the same runs outside a lab.)
"""

from __future__ import annotations

import pandas as pd

from cilium_lab.catalog import Item
from cilium_lab.errors import InputError
from cilium_lab.params import LabParams
from cilium_lab.results.store import ResultStore
from cilium_lab.session import show

# the catalogue item each local knob reproduces (reference/kernel-lab.md section 3)
KNOBS_FOR_ITEM = {
    "native-routing": ("vxlan",),
    "kube-proxy-replacement": ("iptables-rules", "service-nat"),
    "bypass-iptables-conntrack": ("conntrack",),
    "bpf-host-routing": ("bpf-host-routing",),
    "big-tcp": ("big-tcp",),
    "jumbo-mtu": ("mtu",),
    "bbr": ("bbr",),
}
SHOWN = [
    "knob",
    "test",
    "metric",
    "unit",
    "median_a",
    "median_b",
    "ratio",
    "ci_low",
    "ci_high",
    "verdict",
    "samples",
]


def local_labs() -> list[str]:
    """The labs whose step has a local kernel equivalent, in series order ("01-native-routing", ...)."""
    from cilium_lab import catalog

    return sorted(catalog.get(item_id).lab for item_id in KNOBS_FOR_ITEM)


def check(item_id: str, lab: str) -> None:
    """Refuse cluster="local" for a step with no host-level equivalent, before anything runs."""
    if item_id not in KNOBS_FOR_ITEM:
        raise InputError(
            f"{lab} has no local kernel equivalent: use a cluster (e.g. sim:seed-mixed); "
            f"local works for labs {', '.join(local_labs())}"
        )


def measure(item: Item, lab: str, p: LabParams, phase: str, store: ResultStore) -> pd.DataFrame | None:
    """The A/B comparison of the item's knobs on this host (phase "before"; any later phase says so)."""
    from cilium_lab import locallab
    from cilium_lab.locallab import probe, report

    if phase != "before":
        show.markdown(
            "_The local kernel lab measured both sides (A and B, interleaved) in the first measurement._"
        )
        return None
    knobs = KNOBS_FOR_ITEM[item.id]
    results = locallab.run(
        knobs, samples=max(p.samples, 2), duration=p.duration, progress=print, store=store, lab=lab
    )
    frame = pd.DataFrame([r.record() for r in results])
    show.markdown(f"Measured on this host: {probe.describe_host(probe.host())}")
    show.table(frame[[c for c in SHOWN if c in frame.columns]].round(3),
               caption=f"**A against B** (ratio = B / A, paired, 95 % bootstrap CI)  \n{show.banner('LOCAL KERNEL')}")  # fmt: skip
    if frame["ratio"].notna().any():
        from cilium_lab.ui import figures

        show.figure(figures.paired_ratios(frame, title=item.title))
    for line in report.counter_lines(results):
        show.markdown(f"- {line}")
    said = dict.fromkeys((r.knob, r.reason or r.note) for r in results if r.reason or r.note)
    for knob, text in said:  # one line per knob and reason, not one per test
        show.markdown(f"- {knob}: {text}")
    return frame
