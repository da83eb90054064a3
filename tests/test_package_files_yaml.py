"""`package_files.load_yaml` parses with libyaml where PyYAML has it: every YAML file the package ships must
read exactly as `yaml.safe_load` reads it, and a malformed one must still raise yaml's own error."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from cilium_lab.package_files import load_yaml, shipped

# single-document files: the manifests (RBAC, CRDs) hold several and are read with safe_load_all
SHIPPED_YAML = [
    p for p in sorted(shipped("data").rglob("*.yaml")) if len(list(yaml.safe_load_all(p.read_text()))) == 1
]


def test_the_package_ships_yaml_files_to_compare():
    assert len(SHIPPED_YAML) >= 5


@pytest.mark.parametrize("path", SHIPPED_YAML, ids=lambda p: p.name)
def test_each_shipped_file_reads_as_safe_load_reads_it(path: Path):
    assert load_yaml(path) == yaml.safe_load(path.read_text(encoding="utf-8"))


def test_unsafe_tags_are_refused_as_safe_load_refuses_them(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("x: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(yaml.YAMLError):
        load_yaml(bad)
    with pytest.raises(yaml.YAMLError):
        yaml.safe_load(bad.read_text())


def test_malformed_yaml_raises_yamls_error(tmp_path: Path):
    bad = tmp_path / "broken.yaml"
    bad.write_text("a: [1, 2\n")
    with pytest.raises(yaml.YAMLError):
        load_yaml(bad)
