"""CiliumVersion: parsing the forms Cilium prints, total ordering, and refusals."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cilium_lab.cilium import CiliumVersion
from cilium_lab.errors import InputError


@pytest.mark.parametrize(
    ("text", "fields", "printed"),
    [
        ("1.13.4", (1, 13, 4, "", ""), "1.13.4"),
        ("v1.14.0-snapshot.4", (1, 14, 0, "snapshot.4", ""), "1.14.0-snapshot.4"),
        ("1.17.0-dev", (1, 17, 0, "dev", ""), "1.17.0-dev"),
        ("1.16.0-pre.2", (1, 16, 0, "pre.2", ""), "1.16.0-pre.2"),
        ("1.15.1-a368c8f0", (1, 15, 1, "", "a368c8f0"), "1.15.1-a368c8f0"),
        ("v1.14.0-snapshot.4-6c8db759", (1, 14, 0, "snapshot.4", "6c8db759"), "1.14.0-snapshot.4-6c8db759"),
        ("1.16", (1, 16, 0, "", ""), "1.16.0"),
        (" 1.18.6 ", (1, 18, 6, "", ""), "1.18.6"),
    ],
)
def test_parse_forms(text: str, fields: tuple[object, ...], printed: str) -> None:
    version = CiliumVersion.parse(text)
    assert (version.major, version.minor, version.patch, version.prerelease, version.build) == fields
    assert str(version) == printed
    assert version.minor_tuple == fields[:2]


def test_release_order_of_a_minor_line() -> None:
    published = ["1.13.9", "1.14.0-dev", "1.14.0-snapshot.4", "1.14.0-pre.3", "1.14.0-rc.0", "1.14.0-rc.1"]
    published += ["1.14.0", "1.14.1", "1.14.10", "1.15.0-pre.1"]
    versions = [CiliumVersion.parse(text) for text in published]
    assert sorted(reversed(versions)) == versions


def test_build_commit_is_ignored_in_equality_and_hash() -> None:
    assert CiliumVersion.parse("1.15.1-a368c8f0") == CiliumVersion.parse("1.15.1")
    assert len({CiliumVersion.parse("1.15.1-a368c8f0"), CiliumVersion.parse("v1.15.1")}) == 1
    assert CiliumVersion.parse("1.14.0-snapshot.4-6c8db759") < CiliumVersion.parse("1.14.0")


def test_comparison_with_other_types_is_not_supported() -> None:
    assert CiliumVersion.parse("1.14.0") != "1.14.0"
    with pytest.raises(TypeError):
        _ = CiliumVersion.parse("1.14.0") < "1.15.0"  # type: ignore[operator]


@pytest.mark.parametrize(
    "text", ["", "1", "one.two", "1.14.x", "1.14.0-", "latest", "1.14.0 rc", "１.１４.０", None, 1.14]
)
def test_bad_versions_are_refused_naming_the_form(text: object) -> None:
    with pytest.raises(InputError, match=r"expected MAJOR\.MINOR"):
        CiliumVersion.parse(text)  # type: ignore[arg-type]


prerelease_ids = st.sampled_from(["dev", "snapshot", "pre", "rc", "beta"]) | st.integers(0, 30).map(str)
versions = st.builds(
    lambda major, minor, patch, pre: CiliumVersion.parse(
        f"{major}.{minor}.{patch}" + ("-" + ".".join(pre) if pre else "")
    ),
    st.integers(0, 2),
    st.integers(0, 20),
    st.integers(0, 12),
    st.lists(prerelease_ids, max_size=2),
)


@given(versions, versions, versions)
def test_ordering_is_a_consistent_total_order(a: CiliumVersion, b: CiliumVersion, c: CiliumVersion) -> None:
    assert sum([a < b, a == b, a > b]) == 1
    assert (a <= b) == (not a > b)
    if a <= b and b <= c:
        assert a <= c
    if a == b:
        assert hash(a) == hash(b)


@given(versions)
def test_str_round_trips(version: CiliumVersion) -> None:
    assert CiliumVersion.parse(str(version)) == version
    assert str(CiliumVersion.parse(str(version))) == str(version)


@given(versions)
def test_prerelease_sorts_before_its_release(version: CiliumVersion) -> None:
    release = CiliumVersion(version.major, version.minor, version.patch)
    assert version <= release
    assert (version < release) == bool(version.prerelease)
