"""The papermill contract: every lab's parameters, checked before anything touches a cluster."""

import papermill
import pytest

from cilium_lab import catalog, labs, params
from cilium_lab.errors import InputError

COMMON = {"cluster": "str", "kubeconfig": "str", "approve": "bool", "results_dir": "str", "seed": "int"}


def test_defaults_are_the_embedded_cluster_and_no_approval():
    checked = params.build()
    assert checked.cluster == "sim:seed-mixed"
    assert checked.approve is False
    assert checked.tests == ("TCP_STREAM", "TCP_RR", "TCP_CRR")


def test_lab_specific_parameters_go_to_extra():
    item = catalog.get("jumbo-mtu")
    assert params.build(item, mtu=9000, canary_nodes="vm-1").extra == {"mtu": 9000, "canary_nodes": "vm-1"}
    assert params.build(item).extra == {"mtu": 9000, "canary_nodes": ""}  # the declared defaults


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"approve": "yes"}, "approve must be bool"),
        ({"approve": 1}, "approve must be bool"),
        ({"samples": True}, "samples must be int"),
        ({"samples": 0}, "samples must be between 1 and 1000"),
        ({"samples": 2.5}, "samples must be int"),
        ({"duration": -3}, "duration must be between 1 and 3600"),
        ({"duration": "10"}, "duration must be int"),
        ({"seed": -1}, "seed must be between"),
        ({"tests": "TCP_MAERTS"}, "tests must be a comma list"),
        ({"tests": ""}, "tests must be a comma list"),
        ({"tests": ["TCP_RR"]}, "tests must be str"),
        ({"scenario": "pod-to-mars"}, "scenario must be one of"),
        ({"cluster": "minikube"}, "unknown cluster"),
        ({"cluster": None}, "cluster must be str"),
        ({"results_dir": " "}, "results_dir must name a folder"),
        ({"kubeconfig": 3}, "kubeconfig must be str"),
        ({"streams": 0}, "streams must be between 1 and 32"),
    ],
)
def test_bad_parameters_are_one_clear_line(given, message):
    with pytest.raises(InputError, match=message) as err:
        params.build(**given)
    assert "\n" not in str(err.value)


def test_tests_are_normalised():
    assert params.build(tests="tcp_rr, TCP_CRR").tests == ("TCP_RR", "TCP_CRR")


@pytest.mark.parametrize("lab", labs.all_labs(), ids=lambda lab: lab.name)
def test_every_lab_declares_the_common_parameters_with_help(lab):
    declared = papermill.inspect_notebook(str(lab.notebook))
    for name, kind in COMMON.items():
        assert name in declared, f"{lab.name} lacks parameter {name}"
        assert declared[name]["inferred_type_name"] == kind
        assert declared[name]["help"], f"{lab.name}: parameter {name} has no help comment"
    assert declared["cluster"]["default"] == '"sim:seed-mixed"'
    assert declared["approve"]["default"] == "False"
    for name, info in declared.items():
        assert info["help"], f"{lab.name}: parameter {name} has no help comment"


def test_there_is_a_lab_for_every_catalogue_item():
    from cilium_lab import catalog

    assert [lab.name for lab in labs.all_labs()] == [item.lab for item in catalog.ITEMS]


def test_a_parameter_no_chosen_lab_declares_is_refused_before_anything_runs(tmp_path):
    with pytest.raises(InputError, match="no chosen lab has a parameter mtuu"):
        labs.run(labs.all_labs(), out_dir=tmp_path / "out", parameters={"mtuu": 9000})
    assert not (tmp_path / "out").exists()  # nothing was started or written


def test_a_lab_specific_parameter_reaches_only_the_labs_that_declare_it():
    declared = labs._check_parameters(labs.all_labs(), {"mtu": 9000})
    assert [name for name, names in declared.items() if "mtu" in names] == ["09-jumbo-mtu"]
