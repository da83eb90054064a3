"""The series' first labs through papermill, as an operator (group cilium-lab-operators only), on the real
control plane with the emulated nodes and on the embedded cluster: the same labs must reach the same
decisions on both (issue 17 point 3: what fails on one and passes on the other is a bug in one of them)."""

from __future__ import annotations

from pathlib import Path

import pytest
import rbac_flows
import real_nodes

from cilium_lab import labs
from cilium_lab.sim.cluster import EmbeddedCluster

pytestmark = [pytest.mark.controlplane, pytest.mark.slow, pytest.mark.xdist_group("controlplane")]
LABS = ("00", "01", "02", "03", "06")  # up to BPF host routing, the series' demonstration
PARAMETERS = {"samples": 2, "duration": 1}


def decisions(kubeconfig: str, out: Path) -> dict[str, tuple[bool, str, str]]:
    runs = labs.run(
        [labs.get(n) for n in LABS],
        out_dir=out,
        cluster="kube",
        kubeconfig=kubeconfig,
        approve=True,
        parameters=PARAMETERS,
    )
    return {r.lab.name: (r.ok, r.error, str((r.record or {}).get("decision"))) for r in runs}


def test_the_first_labs_decide_alike_on_both(tmp_path: Path):
    with real_nodes.running("seed-mixed", exec_needed=True) as real:
        operator = real_nodes.as_context(real, "operator", tmp_path)
        on_real = decisions(operator, tmp_path / "real")
    with EmbeddedCluster("seed-mixed", seed=0) as embedded:
        token = embedded.add_user("op", ("cilium-lab-operators",))
        kubeconfig = rbac_flows.kubeconfig_for(tmp_path / "emulated", str(embedded.kubeconfig), token)
        on_emulator = decisions(kubeconfig, tmp_path / "emulated" / "out")
    assert on_real == on_emulator
    assert [ok for ok, _, _ in on_real.values()] == [True] * len(LABS), on_real
    assert on_real["06-bpf-host-routing"][2].startswith("demonstrated")
