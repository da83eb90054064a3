"""Target strings: the one place a cluster is chosen."""

import pytest

from cilium_lab import targets
from cilium_lab.errors import InputError


@pytest.mark.parametrize(
    ("spec", "kind", "profile", "context"),
    [
        ("sim:seed-mixed", "sim", "seed-mixed", ""),
        ("sim:modern", "sim", "modern", ""),
        ("kube", "kube", "", ""),
        ("kube:prod-eu", "kube", "", "prod-eu"),
        ("kube:arn:aws:eks:eu-west-1:1234:cluster/x", "kube", "", "arn:aws:eks:eu-west-1:1234:cluster/x"),
        ("local", "local", "", ""),
        ("  sim:seed-mixed ", "sim", "seed-mixed", ""),
    ],
)
def test_parse_accepts_the_documented_forms(spec, kind, profile, context):
    parsed = targets.parse(spec)
    assert (parsed.kind, parsed.profile, parsed.context) == (kind, profile, context)


@pytest.mark.parametrize(
    "spec", ["", "sim:", "minikube", "kube:", "sim:a b", "local:x", "http://127.0.0.1:6443"]
)
def test_parse_rejects_other_strings_with_the_forms_to_use(spec):
    with pytest.raises(InputError, match="sim:<profile>"):
        targets.parse(spec)


@pytest.mark.parametrize("spec", [None, 3, ["sim:seed-mixed"]])
def test_parse_rejects_non_strings(spec):
    with pytest.raises(InputError, match="must be a string"):
        targets.parse(spec)


def test_two_different_contexts_are_refused():
    with pytest.raises(InputError, match="two contexts"):
        targets.connect_target("kube:a", kubeconfig="/nonexistent", context="b")


def test_local_target_opens_without_a_cluster():
    target = targets.connect_target("local")
    assert target.connection is None
    assert target.label == "LOCAL KERNEL"


def test_a_verb_that_needs_a_cluster_refuses_local():
    with (
        pytest.raises(InputError, match="--cluster local is the local kernel lab, which has no cluster"),
        targets.open_target("local"),
    ):
        pass
