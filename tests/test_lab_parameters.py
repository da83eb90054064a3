"""Every lab's own parameters, as its catalogue item declares them: the notebooks' parameters cells agree
with the declaration, and a bad value of any of them is refused by `session.start` before anything
touches the cluster (no backup, no config change, no results folder)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import papermill
import pytest

from cilium_lab import catalog, labs, params, session
from cilium_lab.catalog import Item, Param
from cilium_lab.change.backups import backup
from cilium_lab.cluster import configmaps, discover, rollout
from cilium_lab.cluster.connect import Connection, connect
from cilium_lab.errors import InputError
from cilium_lab.sim.cluster import EmbeddedCluster

COMMON = set(params.LabParams.__dataclass_fields__) - {"extra", "streams"}
NS, CM = "kube-system", "cilium-config"
DECLARED = [(item, p) for item in catalog.ITEMS for p in item.parameters]


def bad_values(param: Param) -> list[object]:
    """Values the declaration refuses: the wrong type, and past each bound or outside the form."""
    if param.kind is bool:
        return ["yes", 1]
    if param.kind is int:
        bounds = [param.low - 1] if param.low is not None else []
        bounds += [param.high + 1] if param.high is not None else []
        return [str(param.default), True, 9000.0, *bounds]
    shapes = {
        "cidr": ["10.42.0.0", "ten/16"],
        "node-names": ["VM_1", "vm-1, board 2"],
        "name": ["Network Latency"],
    }
    return [5, None, *shapes.get(param.form, [])]


CASES = [
    pytest.param(item, p.name, value, id=f"{item.lab}-{p.name}-{value!r}")
    for item, p in DECLARED
    for value in bad_values(p)
]


def test_the_labs_take_the_parameters_the_series_needs():
    own = {item.lab: [p.name for p in item.parameters] for item in catalog.ITEMS if item.parameters}
    assert own["08-hubble-overhead"] == ["keep_disabled", "canary_nodes"]
    assert own["09-jumbo-mtu"] == ["mtu", "canary_nodes"]
    assert own["01-native-routing"] == ["pod_cidr", "canary_nodes"]
    assert own["15-host-tuning"] == ["profile"]
    mtu = catalog.get("jumbo-mtu").parameters[0]
    assert (mtu.kind, mtu.default, mtu.low, mtu.high) == (int, 9000, 1280, 65535)


@pytest.mark.parametrize("item", catalog.ITEMS, ids=lambda item: item.lab)
def test_a_labs_parameters_cell_is_its_items_declaration(item: Item):
    """The cell repeats the declaration as literals (papermill's contract): same names, order, types,
    defaults and help."""
    lab = next(lab for lab in labs.all_labs() if lab.name == item.lab)
    cell = papermill.inspect_notebook(str(lab.notebook))
    own = {name: info for name, info in cell.items() if name not in COMMON}
    assert list(own) == [p.name for p in item.parameters]
    for p in item.parameters:
        info = own[p.name]
        # None: decided at run time, annotated as a string papermill reads ("Optional[bool]")
        kind = p.kind.__name__ if p.default is not None else f"Optional[{p.kind.__name__}]"
        assert info["inferred_type_name"] == kind, p.name
        assert info["default"] == (f'"{p.default}"' if p.kind is str else repr(p.default)), p.name
        assert info["help"] == p.help, p.name


@pytest.mark.parametrize(("item", "name", "value"), CASES)
def test_params_refuse_a_bad_value_in_one_line(item: Item, name: str, value: object):
    with pytest.raises(InputError, match=f"parameter {name} must be") as err:
        params.build(item, **{name: value})
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(("item", "p"), DECLARED, ids=[f"{i.lab}-{p.name}" for i, p in DECLARED])
def test_good_values_and_defaults_pass(item: Item, p: Param):
    assert params.build(item).extra[p.name] == p.default
    good = {"pod_cidr": "10.42.0.0/16", "canary_nodes": "vm-1, board-2", "mtu": 1500, "keep_disabled": True,
            "demonstrate": False}  # fmt: skip
    value = good.get(p.name, p.default)
    assert params.build(item, **{p.name: value}).extra[p.name] == value


def test_a_name_the_lab_does_not_declare_is_refused():
    with pytest.raises(
        InputError, match="lab 08-hubble-overhead takes no parameter mtu; its own parameters:"
    ):
        params.build(catalog.get("hubble-overhead"), mtu=9000)
    with pytest.raises(InputError, match="lab 00-overview takes no parameter canary_nodes"):
        params.build(catalog.get("overview"), canary_nodes="vm-1")


@pytest.fixture(scope="module")
def cluster() -> Iterator[tuple[EmbeddedCluster, Connection]]:
    with EmbeddedCluster(profile="seed-mixed", seed=0) as embedded:
        conn = connect(str(embedded.kubeconfig))
        rollout.wait(conn, discover.find(conn), timeout=20)
        yield embedded, conn


def _state(conn: Connection) -> tuple[str, list[str]]:
    return configmaps.read(conn, NS, CM).resource_version, [b.stamp for b in backup.list_backups(conn, NS)]


@pytest.mark.parametrize(("item", "name", "value"), CASES)
def test_a_bad_lab_parameter_touches_nothing(cluster, tmp_path: Path, item: Item, name: str, value: object):
    """Approved, against a running cluster: the bad value stops the lab at `session.start`. Lab 08's
    keep_disabled used to be read only by its restore step, after Hubble had been switched off."""
    embedded, conn = cluster
    before = _state(conn)
    results = tmp_path / "runs"
    with pytest.raises(InputError, match=f"parameter {name} must be"):
        session.start(item.lab, cluster="sim:seed-mixed", kubeconfig=str(embedded.kubeconfig), approve=True,
                      results_dir=str(results), **{name: value})  # fmt: skip
    assert _state(conn) == before
    assert not results.exists()


def test_the_probe_sees_a_change(embedded, conn, tmp_path: Path, capsys):
    """The control: with good values the same start, plan and approved confirm do change the cluster (a
    backup, a new cilium-config), so the test above would see it had a bad value got through."""
    before = _state(conn)
    lab = session.start("08-hubble-overhead", cluster="sim:seed-mixed", kubeconfig=str(embedded.kubeconfig),
                        approve=True, results_dir=str(tmp_path / "runs"), keep_disabled=True)  # fmt: skip
    lab.plan()
    lab.confirm()
    assert lab.decision == "applied", capsys.readouterr().out
    after = _state(conn)
    assert after[0] != before[0] and len(after[1]) == len(before[1]) + 1


def test_a_batch_checks_each_value_before_any_lab_starts(tmp_path: Path):
    """`cilium-lab run --all -p mtu 70000`: refused as lab 09 declares mtu, before anything is written."""
    with pytest.raises(InputError, match="parameter mtu must be between 1280 and 65535, got 70000"):
        labs.run(labs.all_labs(), out_dir=tmp_path / "out", parameters={"mtu": 70000})
    with pytest.raises(InputError, match="parameter keep_disabled must be bool"):
        labs.run(labs.all_labs(), out_dir=tmp_path / "out", parameters={"keep_disabled": "no"})
    assert not (tmp_path / "out").exists()
