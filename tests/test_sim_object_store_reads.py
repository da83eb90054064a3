"""The emulator's store hands out copies (`get`, `list`) or, for its own hot paths, the stored object itself
(`peek`, `view`): what either returned must stay as it was when the object is written again."""

from __future__ import annotations

import pytest

from cilium_lab.sim.state import k8s_errors
from cilium_lab.sim.state.object_store import Store


def _pod(phase: str) -> dict:
    return {
        "metadata": {"name": "p", "namespace": "ns"},
        "spec": {"nodeName": "n1"},
        "status": {"phase": phase},
    }


def test_what_peek_and_view_returned_is_not_changed_by_a_later_write():
    store = Store()
    store.create("pods", _pod("Pending"))
    peeked, viewed = store.peek("pods", "ns", "p"), store.view("pods", "ns")[0]
    current = store.get("pods", "ns", "p")
    current["status"]["phase"] = "Running"
    store.update("pods", current)
    assert peeked["status"]["phase"] == viewed["status"]["phase"] == "Pending"
    assert store.peek("pods", "ns", "p")["status"]["phase"] == "Running"
    assert (
        peeked["metadata"]["resourceVersion"] != store.peek("pods", "ns", "p")["metadata"]["resourceVersion"]
    )


def test_a_copy_from_get_does_not_reach_the_store():
    store = Store()
    store.create("pods", _pod("Pending"))
    copy = store.get("pods", "ns", "p")
    copy["status"]["phase"] = "Failed"
    assert store.peek("pods", "ns", "p")["status"]["phase"] == "Pending"


def test_peek_of_a_missing_object_is_the_servers_not_found():
    with pytest.raises(k8s_errors.ApiError) as err:
        Store().peek("pods", "ns", "gone")
    assert err.value.code == 404


def test_a_delete_leaves_what_peek_returned_and_its_event_carries_the_new_resource_version():
    store = Store()
    store.create("pods", _pod("Running"))
    peeked = store.peek("pods", "ns", "p")
    events = []
    store.subscribe(events.append)
    deleted = store.delete("pods", "ns", "p")
    assert peeked["metadata"]["resourceVersion"] != deleted["metadata"]["resourceVersion"]
    assert events[-1]["type"] == "DELETED"
    assert events[-1]["object"]["metadata"]["resourceVersion"] == deleted["metadata"]["resourceVersion"]


def test_the_writers_object_and_the_stored_one_are_independent():
    store = Store()
    mine = _pod("Pending")
    returned = store.create("pods", mine)
    returned["status"]["phase"] = "Failed"  # the writer may go on changing what it wrote
    mine["spec"]["nodeName"] = "elsewhere"
    stored = store.peek("pods", "ns", "p")
    assert (stored["status"]["phase"], stored["spec"]["nodeName"]) == ("Pending", "n1")


def test_lists_by_resource_and_namespace_survive_mirror_delete_and_a_reload():
    store = Store()
    for ns, name in (("b", "p2"), ("a", "p1"), ("a", "p3")):
        store.create("pods", {"metadata": {"name": name, "namespace": ns}})
    store.create("configmaps", {"metadata": {"name": "c", "namespace": "a"}})
    names = lambda objs: [(o["metadata"]["namespace"], o["metadata"]["name"]) for o in objs]  # noqa: E731
    assert names(store.view("pods")) == [("a", "p1"), ("a", "p3"), ("b", "p2")]
    assert names(store.list("pods", "a")) == [("a", "p1"), ("a", "p3")]
    store.delete("pods", "a", "p1")
    assert names(store.view("pods")) == [("a", "p3"), ("b", "p2")]
    store.mirror("pods", [{"metadata": {"name": "m", "namespace": "x", "resourceVersion": "7"}}])
    assert names(store.view("pods")) == [("x", "m")]
    assert names(store.view("configmaps")) == [("a", "c")]
    again = Store()
    again.load(store.dump())
    assert names(again.view("pods")) == [("x", "m")] and names(again.list("configmaps", "a")) == [("a", "c")]
    with pytest.raises(k8s_errors.ApiError):
        again.peek("pods", "a", "p3")
