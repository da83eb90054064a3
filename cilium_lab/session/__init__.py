"""The lab session: what a lab notebook calls, `lab = session.start("06-bpf-host-routing", **parameters)`,
then one method per step. `session.lab.LabSession` holds the run's state and the steps.
"""

from __future__ import annotations

from cilium_lab import catalog, params, targets
from cilium_lab.session import local_kernel, show
from cilium_lab.session.lab import LabSession

__all__ = ["LabSession", "start"]


def start(lab: str, **given: object) -> LabSession:
    """Check the parameters, open the target and return the lab's session."""
    item = catalog.for_lab(lab)
    checked = params.build(item, **given)  # every parameter, the lab's own too, before any cluster
    if targets.parse(checked.cluster).kind == "local":
        local_kernel.check(item.id, lab)
    target = targets.connect_target(checked.cluster, checked.kubeconfig, seed=checked.seed)
    if target.connection is not None:  # node names need the cluster: checked before anything is measured
        try:
            params.check_nodes(item, checked, _node_names(target))
        except BaseException:
            target.close()
            raise
    session = LabSession(lab, item, checked, target)
    where = (
        checked.cluster
        if not checked.kubeconfig or checked.cluster.startswith("sim:")
        else checked.kubeconfig
    )
    show.markdown(f"**{item.title}** on `{where}` [{target.label}], run `{session.run_id}`")
    if target.label != targets.LIVE:
        show.markdown(show.banner(target.label))
    session.catch_up()
    return session


def _node_names(target: targets.Target) -> list[str]:
    from cilium_lab.cluster import discover, objects

    return [objects.name_of(node) for node in discover.list_nodes(target.connection)]
