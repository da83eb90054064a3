"""The README's descriptive sentences checked against what they describe: the series' fleet as the
embedded cluster serves it, the bounds sentence of "Bad input" against cilium_lab/limits.py, and the
Access table's roles and groups against deploy/rbac.yaml. Each test quotes the README text it checks and
fails when either side changes alone."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from kubernetes import client

from cilium_lab import exit_codes, limits
from cilium_lab.cluster import snapshot

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def _readme() -> str:
    """The README with each run of whitespace as one space, so a reflowed line changes nothing."""
    return " ".join(README.read_text().split())


def test_the_series_fleet_is_what_the_readme_says(conn):
    text = _readme()
    said = (
        "(three Ubuntu 23.04 VMs on kernel 6.2, x86, virtio; three Debian 10 boards on kernel 4.19, arm64; "
        "K3s v1.26.6 with Cilium 1.13.4 defaults)"
    )
    assert said in text
    snap = snapshot.take(conn)
    vms = [n for n in snap.nodes if n.arch == "amd64"]
    boards = [n for n in snap.nodes if n.arch == "arm64"]
    assert len(vms) == 3 and len(boards) == 3 and len(snap.nodes) == 6
    for vm in vms:
        assert (
            vm.os_image == "Ubuntu 23.04" and vm.kernel.startswith("6.2.") and vm.nic_driver == "virtio_net"
        )
    for board in boards:
        assert board.os_image.startswith("Debian GNU/Linux 10") and board.kernel.startswith("4.19.")
    assert snap.install.version == "1.13.4"
    assert client.VersionApi(conn.api_client).get_code().git_version.startswith("v1.26.6+k3s")


def test_the_bounds_sentence_is_limits_py():
    text = _readme()
    sentence = re.search(r"ranges with upper bounds \((.*?); all in `cilium_lab/limits.py`\)", text)
    assert sentence, "the README's bounds sentence moved: update this test with it"
    said = {
        "`--samples` and `samples`": limits.SAMPLES,
        "`--duration`": limits.DURATION,
        "`--streams`": limits.STREAMS,
        "`restore`/`restore-host`/`recover --timeout`": limits.TIMEOUT,
        "`--seed`": limits.SEED,
        "`backups --keep`": limits.KEEP,
        "`local --samples`": limits.LOCAL_SAMPLES,
    }
    parts = [p.strip() for p in sentence.group(1).split(",")]
    assert len(parts) == len(said), parts  # a bound added to the sentence needs its constant here
    for name, (low, high) in said.items():
        found = re.search(re.escape(name) + r" (\d+) to ([0-9^*-]+)", sentence.group(1))
        assert found, f"{name} is not in the README's bounds sentence"
        upper = 2**31 - 1 if found.group(2) == "2^31-1" else int(found.group(2))
        assert (int(found.group(1)), upper) == (low, high), name


def _table_rows(heading: str) -> list[list[str]]:
    """The rows of the first table after `heading` in the README, as cells."""
    lines = README.read_text().split(heading, 1)[1].splitlines()
    rows, started = [], False
    for line in lines:
        if line.startswith("|"):
            started = True
            rows.append([c.strip() for c in line.strip("|").split("|")])
        elif started:
            break
    return rows[2:]  # past the header and its rule


def test_the_access_table_names_the_roles_and_groups_rbac_yaml_binds():
    documents = [d for d in yaml.safe_load_all((ROOT / "deploy" / "rbac.yaml").read_text()) if d]
    roles = {d["metadata"]["name"] for d in documents if d["kind"] in ("Role", "ClusterRole")}
    bound: dict[str, set[str]] = {}
    for d in documents:
        if d["kind"] in ("RoleBinding", "ClusterRoleBinding"):
            groups = {s["name"] for s in d["subjects"] if s["kind"] == "Group"}
            bound.setdefault(d["roleRef"]["name"], set()).update(groups)
    in_table: set[str] = set()
    for cells in _table_rows("### Access (deploy/rbac.yaml)"):
        row = re.fullmatch(r"(.+?) \((.+)\)", cells[0])
        assert row, cells[0]
        names = re.findall(r"`([^`]+)`", row.group(1))
        groups = {g.strip().removesuffix(" only") for g in row.group(2).split(",")}
        for name in names:
            assert name in roles, f"the README names role {name}, which deploy/rbac.yaml does not have"
            assert bound.get(name) == groups, (
                f"{name}: README says {groups}, rbac.yaml binds {bound.get(name)}"
            )
        in_table.update(names)
    assert in_table == roles, f"roles of deploy/rbac.yaml missing from the README table: {roles - in_table}"
    assert (ROOT / "deploy" / "rbac.yaml").resolve() == (ROOT / "cilium_lab" / "data" / "rbac.yaml").resolve()


def test_a_batch_exits_with_the_most_severe_code_in_the_readmes_order():
    said = re.search(
        r"exits with the most severe code of its labs, in the order ([0-9, ]+?),? and prints", _readme()
    )
    assert said, "the README's order sentence moved: update this test with it"
    order = [int(c) for c in said.group(1).split(",")]
    assert sorted(order) == sorted(exit_codes.MEANING)  # every code of the table, each once
    for i, worse in enumerate(order):
        for better in order[i + 1 :]:
            assert exit_codes.most_severe([better, worse]) == exit_codes.most_severe([worse, better]) == worse


def test_the_status_parsers_version_range_is_the_fixtures():
    """The Cilium versions the README says the status parser reads are those its fixtures were recorded on."""
    said = re.search(r"status parsing \(text, JSON, YAML; (\d+\.\d+) to (\d+\.\d+)\)", _readme())
    assert said, "the README's Layout line on cilium/ moved: update this test with it"
    index = yaml.safe_load((ROOT / "tests" / "fixtures" / "status" / "index.yaml").read_text())
    minors = sorted({tuple(map(int, re.search(r"(\d+)\.(\d+)", str(f["version"])).groups())) for f in index})
    assert (said.group(1), said.group(2)) == tuple(f"{a}.{b}" for a, b in (minors[0], minors[-1]))


def test_the_parameters_every_lab_takes_are_the_readmes():
    """The README's list of the common parameters and of the labs' own, against the names each notebook's
    cell tagged `parameters` (the one papermill fills) assigns."""
    import ast
    import json

    from cilium_lab import labs

    def parameters_cell(notebook: Path) -> list[str]:
        [cell] = [
            c
            for c in json.loads(notebook.read_text())["cells"]
            if "parameters" in c["metadata"].get("tags", [])
        ]
        body = ast.parse("".join(cell["source"])).body
        return [n.target.id if isinstance(n, ast.AnnAssign) else n.targets[0].id for n in body]

    said = re.search(
        r"Every lab takes the same parameters \(.*?\): (.*?), and the lab's own \((.*?)\), each", _readme()
    )
    assert said, "the README's parameters sentence moved: update this test with it"
    common = re.findall(r"`(\w+)`", re.sub(r"\([^()]*\)", "", said.group(1)))  # without the asides
    own = set(re.findall(r"`(\w+)`", said.group(2)))
    assert common[:2] == ["cluster", "kubeconfig"] and len(common) == 9, common
    assert "(lab 99, which measures nothing, takes all but these two)" in said.group(1)
    seen_own: set[str] = set()
    for lab in labs.all_labs():
        names = parameters_cell(lab.notebook)
        expected = common[:-2] if lab.name == "99-summary" else common
        assert [n for n in names if n not in own] == expected, lab.name
        seen_own.update(n for n in names if n in own)
    assert seen_own == own  # every parameter the README names as a lab's own belongs to some lab
