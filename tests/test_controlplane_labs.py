"""The series' first labs through papermill, as an operator (group cilium-lab-operators only), on the real
control plane with the emulated nodes and on the embedded cluster: the same labs must reach the same
decisions on both (issue 17 point 3: what fails on one and passes on the other is a bug in one of them)."""

from __future__ import annotations

from pathlib import Path

import pytest
import rbac_flows
import yaml

from cilium_lab import labs
from cilium_lab.cluster import discover, rollout
from cilium_lab.cluster.connect import connect
from cilium_lab.errors import InputError
from cilium_lab.sim.cluster import EmbeddedCluster
from cilium_lab.sim.nodeside import process
from cilium_lab.sim.nodeside.real_cluster import RealControlPlaneCluster

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
    try:
        process.binary()
    except InputError as err:
        pytest.skip(str(err))
    with RealControlPlaneCluster("seed-mixed", seed=0) as real:
        if not real.serves_exec:
            pytest.skip("this control plane build has no kubelet endpoints (--kubelet-shell): no exec")
        admin = connect(real.kubeconfig, context="admin")
        assert rollout.wait(admin, discover.find(admin), timeout=120).state == rollout.DONE
        doc = yaml.safe_load(Path(real.kubeconfig).read_text())
        doc["current-context"] = "operator"
        operator = tmp_path / "operator.yaml"
        operator.write_text(yaml.safe_dump(doc))
        on_real = decisions(str(operator), tmp_path / "real")
    with EmbeddedCluster("seed-mixed", seed=0) as embedded:
        token = embedded.add_user("op", ("cilium-lab-operators",))
        kubeconfig = rbac_flows.kubeconfig_for(tmp_path / "emulated", str(embedded.kubeconfig), token)
        on_emulator = decisions(kubeconfig, tmp_path / "emulated" / "out")
    assert on_real == on_emulator
    assert [ok for ok, _, _ in on_real.values()] == [True] * len(LABS), on_real
    assert on_real["06-bpf-host-routing"][2].startswith("demonstrated")
