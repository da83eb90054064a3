"""Every recorded or constructed status output in tests/fixtures/status parses to its indexed fields."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import yaml

from cilium_lab.cilium import CiliumStatus, parse_status

FIXTURES = Path(__file__).parent / "fixtures" / "status"
INDEX = yaml.safe_load((FIXTURES / "index.yaml").read_text())
RAW_ATTRIBUTES = {"lines", "fields", "source", "big_tcp_sizes", "maps"}


def _expected_value(name: str, expected: dict[str, Any]) -> object:
    value = expected.get(name)
    return tuple(value) if isinstance(value, list) else value


@pytest.mark.parametrize("entry", INDEX, ids=[entry["file"] for entry in INDEX])
def test_fixture_parses_to_indexed_fields(entry: dict[str, Any]) -> None:
    status = parse_status((FIXTURES / entry["file"]).read_text())
    expected = entry["expected"]
    for attribute in dataclasses.fields(CiliumStatus):
        if attribute.name not in RAW_ATTRIBUTES:
            assert getattr(status, attribute.name) == _expected_value(attribute.name, expected), (
                attribute.name
            )
    assert status.source == expected.get("source", "text")
    sizes = {family: tuple(pair) for family, pair in expected.get("big_tcp_sizes", {}).items()}
    assert status.big_tcp_sizes == sizes
    assert status.maps == expected.get("maps", {})


def test_index_covers_every_fixture_file() -> None:
    indexed = {entry["file"] for entry in INDEX}
    on_disk = {path.name for path in FIXTURES.iterdir() if path.name != "index.yaml"}
    assert indexed == on_disk


@pytest.mark.parametrize("entry", INDEX, ids=[entry["file"] for entry in INDEX])
def test_fixture_has_provenance(entry: dict[str, Any]) -> None:
    assert entry["kind"] in {"real", "unresolved", "constructed"}
    assert entry["source"] and entry["recorded"] and entry["version"]


def test_text_fixtures_keep_every_line_and_top_level_field() -> None:
    text = (FIXTURES / "v1.13.4-default-article.txt").read_text()
    status = parse_status(text)
    assert status.lines == tuple(text.splitlines())
    assert status.fields["Controller Status"] == "31/31 healthy"
    assert status.fields["IPAM"] == "IPv4: 5/254 allocated from 10.0.0.0/24,"
    assert status.fields["Kubernetes APIs"].startswith('["cilium/v2::CiliumClusterwideNetworkPolicy"')
