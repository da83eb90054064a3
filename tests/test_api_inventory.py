"""Every API call the library makes, found in its source (not listed by hand), is covered by the
differential test against a real kube-apiserver (`test_controlplane_differential.COVERED`), or is marked
there as needing a node side.

The walk reads every module of cilium_lab/ with `ast` and collects each attribute that names a method of
one of the kubernetes client's API classes (CoreV1Api, AppsV1Api, CoordinationV1Api, CustomObjectsApi,
...: whether called, or passed on to be called, as `cluster.workloads` passes `list_namespaced_pod`), each
use of a function imported from kubernetes.stream, kubernetes.watch or kubernetes.dynamic, and each raw
request (`call_api`, `param_serialize`, `rest_client`). The kubernetes client is imported only in
cilium_lab/cluster/ (an import-linter contract), but the walk does not rely on that. cilium_lab/sim/ is left
out: it is the cluster's side (the emulator, and the emulated nodes that serve a real control plane), whose
requests are the server's and the kubelets', not the library's.
"""

from __future__ import annotations

import ast
import inspect
from collections import defaultdict
from pathlib import Path

import kubernetes.client as k8s
import pytest
import test_controlplane_differential as differential

PACKAGE = Path(__file__).resolve().parents[1] / "cilium_lab"
CLUSTER_SIDE = "sim"  # a top-level folder of the package that is not the library
RAW = {"call_api", "param_serialize", "rest_client", "request"}  # ApiClient's own ways to send a request
RAW_OWNERS = {"api_client", "rest_client"}  # `request` only counts on these (`objects.request` is ours)
MODULES = ("kubernetes.stream", "kubernetes.watch", "kubernetes.dynamic")
# the Connection's fields hold these classes (cluster.connect)
RECEIVERS = {"core": "CoreV1Api", "apps": "AppsV1Api", "custom": "CustomObjectsApi"}


def api_methods() -> dict[str, set[str]]:
    """Method name -> the API classes of the kubernetes client that have it (not what every class has)."""
    classes = {
        name: cls
        for name in dir(k8s)
        if name.endswith("Api")
        and inspect.isclass(cls := getattr(k8s, name))
        and cls.__module__.startswith("kubernetes.client.api.")
    }
    owners: dict[str, set[str]] = defaultdict(set)
    for name, cls in classes.items():
        for method in dir(cls):
            if not method.startswith("_") and callable(getattr(cls, method)):
                owners[method.removesuffix("_with_http_info").removesuffix("_without_preload_content")].add(
                    name
                )
    return {m: c for m, c in owners.items() if len(c) < len(classes)}  # close(), api_client: not calls


def _owner(node: ast.Attribute, classes: set[str]) -> str:
    if len(classes) == 1:
        return next(iter(classes))
    value = node.value
    hint = value.attr if isinstance(value, ast.Attribute) else None
    if hint in RECEIVERS and RECEIVERS[hint] in classes:
        return RECEIVERS[hint]
    return "ambiguous:" + "|".join(sorted(classes))


def _imported(tree: ast.Module) -> dict[str, str]:
    """Local name -> kubernetes.stream/watch/dynamic function or module it stands for."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(MODULES):
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(MODULES):
                    names[alias.asname or alias.name] = alias.name
    return names


def inventory(package: Path = PACKAGE) -> dict[str, list[str]]:
    """`Class.method` (or the kubernetes function, or `raw:<name>`) -> where the library uses it (file:line)."""
    methods = api_methods()
    found: dict[str, list[str]] = defaultdict(list)
    for path in sorted(package.rglob("*.py")):
        if path.relative_to(package).parts[0] == CLUSTER_SIDE:
            continue
        tree = ast.parse(path.read_text(), filename=str(path))
        imported = _imported(tree)
        where = f"{path.relative_to(package.parent)}"
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in methods:
                found[f"{_owner(node, methods[node.attr])}.{node.attr}"].append(f"{where}:{node.lineno}")
            elif isinstance(node, ast.Attribute) and node.attr in RAW:
                owner = (
                    node.value.attr
                    if isinstance(node.value, ast.Attribute)
                    else getattr(node.value, "id", "")
                )
                if node.attr != "request" or owner in RAW_OWNERS:
                    found[f"raw:{node.attr}"].append(f"{where}:{node.lineno}")
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in imported:
                found[imported[node.func.id]].append(f"{where}:{node.lineno}")
    return dict(found)


@pytest.fixture(scope="module")
def calls() -> dict[str, list[str]]:
    return inventory()


def test_the_walk_finds_what_the_library_is_known_to_call(calls):
    """The walk itself: calls the cluster/ modules are known to make are found, at the right place."""
    assert any(
        w.startswith("cilium_lab/cluster/configmaps.py")
        for w in calls["CoreV1Api.patch_namespaced_config_map"]
    )
    assert any(
        w.startswith("cilium_lab/cluster/leases.py") for w in calls["CoordinationV1Api.read_namespaced_lease"]
    )
    assert any(w.startswith("cilium_lab/cluster/exec.py") for w in calls["kubernetes.stream.stream"])
    assert any(w.startswith("cilium_lab/cluster/connect.py") for w in calls["VersionApi.get_code"])
    # passed on rather than called: workloads hands list_namespaced_pod to its own _list
    assert any(
        w.startswith("cilium_lab/cluster/workloads.py") for w in calls["CoreV1Api.list_namespaced_pod"]
    )


def test_the_walk_sees_a_new_call(tmp_path):
    """A call added anywhere in the package, however it is reached, shows up in the inventory."""
    (tmp_path / "cilium_lab").mkdir()
    (tmp_path / "cilium_lab" / "m.py").write_text(
        "from kubernetes.watch import Watch\n"
        "def f(conn, k8s):\n"
        "    conn.core.read_namespaced_secret('a', 'b')\n"
        "    k8s.BatchV1Api(conn.api_client).create_namespaced_job('ns', {})\n"
        "    conn.api_client.call_api('/x', 'GET')\n"
        "    Watch()\n"
        "    conn.core.get_api_resources()\n"
    )
    (tmp_path / "cilium_lab" / "sim").mkdir()
    (tmp_path / "cilium_lab" / "sim" / "node.py").write_text("def g(api):\n    api.create_node({})\n")
    found = inventory(tmp_path / "cilium_lab")  # the emulated nodes' own calls are not the library's
    assert set(found) == {
        "CoreV1Api.read_namespaced_secret",
        "BatchV1Api.create_namespaced_job",
        "raw:call_api",
        "kubernetes.watch.Watch",
        "CoreV1Api.get_api_resources",  # shared by many classes; `conn.core` says which
    }


def test_every_call_is_resolved_to_one_class(calls):
    ambiguous = {c: w for c, w in calls.items() if c.startswith("ambiguous:")}
    assert not ambiguous, (
        f"cannot tell which API class these calls use (add a receiver to RECEIVERS): {ambiguous}"
    )


def test_every_call_the_library_makes_is_covered(calls):
    missing = {c: w for c, w in calls.items() if c not in differential.COVERED}
    assert not missing, (
        "API calls the library makes that tests/test_controlplane_differential.py does not cover; add a case"
        f" there and name it in COVERED (or mark it NODE_SIDE if it needs a kubelet): {missing}"
    )


def test_covered_names_only_calls_the_library_makes(calls):
    stale = sorted(set(differential.COVERED) - set(calls))
    assert not stale, f"COVERED names calls the library no longer makes; remove them: {stale}"


def test_every_covering_case_exists():
    cases = {name for name, fn in vars(differential).items() if name.startswith("test_") and callable(fn)}
    unknown = {
        c: case
        for c, case in differential.COVERED.items()
        if case != differential.NODE_SIDE and case not in cases
    }
    assert not unknown, f"COVERED names cases the differential test does not have: {unknown}"


def test_node_side_is_only_what_needs_a_kubelet():
    """Only exec needs a node side; everything else gets a case against both servers."""
    node_side = {c for c, case in differential.COVERED.items() if case == differential.NODE_SIDE}
    assert node_side == {"CoreV1Api.connect_get_namespaced_pod_exec", "kubernetes.stream.stream"}
