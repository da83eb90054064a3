"""The local kernel lab: real before/after measurements of Cilium tuning knobs in network namespaces.

For learners without a cluster, and as a real-kernel check of the embedded cluster's model. Called by
the lab notebooks (`cluster="local"`) and by `cilium-lab local`. Results are labelled LOCAL KERNEL.
Needs root, netperf and (for some knobs) iperf3, clang, ethtool; `probe.detect()` says what is missing.
"""

from cilium_lab.locallab.knob_runs import LABEL, KnobResult, run
from cilium_lab.locallab.knobs import KNOBS, Knob
from cilium_lab.locallab.probe import detect, support
from cilium_lab.locallab.shell import LocalLabBusy, LocalLabError, NotRoot

__all__ = [
    "KNOBS",
    "LABEL",
    "Knob",
    "KnobResult",
    "LocalLabBusy",
    "LocalLabError",
    "NotRoot",
    "detect",
    "run",
    "support",
]
