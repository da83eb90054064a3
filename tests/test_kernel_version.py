"""Kernel release strings as nodes report them: parsing, the patch level from `uname -v`, ordering."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cilium_lab.errors import InputError
from cilium_lab.kernel import (
    PREEMPT_DYNAMIC,
    PREEMPT_FULL,
    PREEMPT_NONE_OR_VOLUNTARY,
    PREEMPT_RT,
    KernelVersion,
    parse_kernel,
    preemption_model,
)

DEBIAN_10_BUILD = "#1 SMP Debian 4.19.289-2 (2023-08-08)"


@pytest.mark.parametrize(
    ("release", "numbers", "suffix"),
    [
        ("6.2.0-39-generic", (6, 2, 0), "-39-generic"),
        ("4.19.0-25-arm64", (4, 19, 0), "-25-arm64"),
        ("5.10.0-1057-oem", (5, 10, 0), "-1057-oem"),
        ("6.8.0+", (6, 8, 0), "+"),
        ("5.15.0-1049-aws", (5, 15, 0), "-1049-aws"),
        ("6.1.0-13-amd64", (6, 1, 0), "-13-amd64"),
        ("4.18.0-477.10.1.el8_8.x86_64", (4, 18, 0), "-477.10.1.el8_8.x86_64"),
        ("6.6.30-talos", (6, 6, 30), "-talos"),
        ("5.14.21-150500.55.39-default", (5, 14, 21), "-150500.55.39-default"),
        ("6.8.0-rc3", (6, 8, 0), "-rc3"),
        ("5.10", (5, 10, 0), ""),
    ],
)
def test_release_strings_of_real_distributions_parse(release, numbers, suffix):
    version = parse_kernel(release)
    assert version.numbers == numbers
    assert version.suffix == suffix
    assert version.release == release
    assert not version.patch_from_build


def test_debian_patch_level_comes_from_the_build_string():
    version = parse_kernel("4.19.0-25-arm64", DEBIAN_10_BUILD)
    assert version.numbers == (4, 19, 289)
    assert version.patch_from_build
    assert version.label == "4.19.0-25-arm64 (upstream 4.19.289)"
    assert version.at_least("4.19.57")
    assert not version.at_least("5.10")


def test_without_the_build_string_the_debian_kernel_reads_as_its_lower_bound():
    version = parse_kernel("4.19.0-25-arm64")
    assert version.numbers == (4, 19, 0)
    assert not version.at_least("4.19.57")
    assert version.label == "4.19.0-25-arm64"


@pytest.mark.parametrize(
    "build",
    [
        "#40-Ubuntu SMP PREEMPT_DYNAMIC Mon Nov 20 10:53:34 UTC 2023",
        "#1 SMP Debian 5.10.197-1 (2023-09-29)",  # another major.minor: not this kernel's patch level
        "#1 SMP Debian 4.19.3-1",  # lower than the release's own patch level
    ],
)
def test_build_strings_that_do_not_name_a_higher_patch_of_this_kernel_change_nothing(build):
    version = parse_kernel("4.19.20-custom", build)
    assert version.numbers == (4, 19, 20)
    assert not version.patch_from_build


def test_ordering_is_numeric_not_lexical():
    assert parse_kernel("5.10.0") > parse_kernel("5.9.16")
    assert parse_kernel("4.19.0-25-arm64", DEBIAN_10_BUILD) > parse_kernel("4.19.57")
    assert sorted(parse_kernel(r) for r in ["6.2.0-39-generic", "4.19.0", "5.18", "6.10.1"]) == [
        parse_kernel("4.19.0"),
        parse_kernel("5.18"),
        parse_kernel("6.2.0"),
        parse_kernel("6.10.1"),
    ]


def test_equality_ignores_the_distribution_suffix():
    assert parse_kernel("6.8.0-rc3") == parse_kernel("6.8.0+")
    assert hash(parse_kernel("6.8.0-rc3")) == hash(KernelVersion(6, 8, 0))
    assert str(parse_kernel("6.2.0-39-generic")) == "6.2.0"


@pytest.mark.parametrize(
    ("release", "threshold", "expected"),
    [
        ("6.2.0-39-generic", "5.10", True),
        ("6.2.0-39-generic", "6.3", False),
        ("6.3.0", "6.3", True),
        ("5.18.0", "5.18", True),
        ("5.17.15", "5.18", False),
        ("4.19.57", "4.19.57", True),
    ],
)
def test_at_least(release, threshold, expected):
    assert parse_kernel(release).at_least(threshold) is expected
    assert parse_kernel(release).at_least(parse_kernel(threshold)) is expected


@pytest.mark.parametrize(
    ("build", "model"),
    [
        ("#40-Ubuntu SMP PREEMPT_DYNAMIC Mon Nov 20 10:53:34 UTC 2023", PREEMPT_DYNAMIC),
        ("#1 SMP PREEMPT_RT Debian 6.1.55-1 (2023-09-29)", PREEMPT_RT),
        ("#1 SMP PREEMPT RT Fri Jan 1 00:00:00 UTC 2021", PREEMPT_RT),
        ("#1 SMP PREEMPT Tue Mar 5 12:00:00 UTC 2024", PREEMPT_FULL),
        (DEBIAN_10_BUILD, PREEMPT_NONE_OR_VOLUNTARY),
        (None, None),
    ],
)
def test_preemption_model_from_uname_v(build, model):
    assert preemption_model(build) == model
    assert parse_kernel("6.1.0", build).preemption == model


@pytest.mark.parametrize("release", ["", "   ", "generic", "v6.2.0", "6", "6.x.1", "-6.2.0"])
def test_bad_release_strings_raise_input_error(release):
    with pytest.raises(InputError, match="kernel release"):
        parse_kernel(release)


@pytest.mark.parametrize(("release", "build"), [(None, None), (6.2, None), ("6.2.0", 5)])
def test_wrong_types_raise_input_error(release, build):
    with pytest.raises(InputError):
        parse_kernel(release, build)


def test_at_least_rejects_a_bad_threshold():
    with pytest.raises(InputError):
        parse_kernel("6.2.0").at_least("five")


numbers = st.integers(min_value=0, max_value=10_000)
versions = st.builds(KernelVersion, numbers, numbers, numbers)
suffixes = st.text(alphabet=st.characters(blacklist_categories=("Nd",)), max_size=20).map(lambda s: "-" + s)


@given(versions, versions)
def test_ordering_is_consistent_with_tuple_ordering(a, b):
    assert (a < b) == (a.numbers < b.numbers)
    assert (a == b) == (a.numbers == b.numbers)
    assert a.at_least(b) == (a.numbers >= b.numbers)


@given(versions)
def test_parse_of_str_round_trips(version):
    assert parse_kernel(str(version)) == version


@given(versions, suffixes | st.text(max_size=20).map(lambda s: "-" + s))
def test_arbitrary_suffixes_do_not_change_the_numbers(version, suffix):
    parsed = parse_kernel(str(version) + suffix)
    assert parsed.numbers == version.numbers
    assert parsed.release == (str(version) + suffix).strip()
