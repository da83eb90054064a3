"""Finding items by id, number or lab name, and the errors for names that do not exist."""

import pytest

from cilium_lab import catalog
from cilium_lab.errors import InputError


@pytest.mark.parametrize(
    "key", ["bpf-host-routing", 6, "6", "06", "06-bpf-host-routing", " bpf-host-routing "]
)
def test_get_accepts_id_number_and_lab_name(key):
    assert catalog.get(key).id == "bpf-host-routing"


def test_get_returns_an_item_record_unchanged():
    item = catalog.get("bbr")
    assert catalog.get(item) is item


@pytest.mark.parametrize("key", ["bpf-hostrouting", 16, 100, "", True, None, 6.0])
def test_unknown_items_raise_one_line_listing_the_valid_ids(key):
    with pytest.raises(InputError) as caught:
        catalog.get(key)
    message = str(caught.value)
    assert "\n" not in message
    assert f"no tuning item {key!r}" in message
    assert all(item.id in message for item in catalog.ITEMS)


@pytest.mark.parametrize("lab", ["11-bbr", "labs/11-bbr.py", "labs/11-bbr.ipynb"])
def test_for_lab(lab):
    assert catalog.for_lab(lab) is catalog.get("bbr")


def test_every_item_is_found_from_its_lab():
    assert [catalog.for_lab(item.lab) for item in catalog.ITEMS] == list(catalog.ITEMS)


@pytest.mark.parametrize("lab", ["11-BBR", "bbr", "12-bbr"])
def test_unknown_labs_raise_listing_the_valid_ones(lab):
    with pytest.raises(InputError, match=r"valid labs: 00-overview, 01-native-routing, .*, 99-summary$"):
        catalog.for_lab(lab)


def test_a_lab_name_must_be_a_string():
    with pytest.raises(InputError, match="must be a string"):
        catalog.for_lab(11)  # type: ignore[arg-type]
