"""Property: for every version, read(v, translate(v, changes).apply(cm)) shows the changes made."""

from __future__ import annotations

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from cilium_lab.cilium import SETTINGS, CiliumVersion, ConflictingSettings, read, translate
from cilium_lab.cilium.settings import MAP_MAX, MAP_MIN, Setting
from cilium_lab.cilium.validation import supported
from cilium_lab.errors import UnsupportedSetting

VERSIONS = [
    "1.10.20",
    "1.11.0",
    "1.12.19",
    "1.13.4",
    "1.14.0",
    "1.14.9",
    "1.15.1",
    "1.16.0",
    "1.17.2",
    "1.18.6",
    "1.20.0-pre.4",
]


def _values(setting: Setting, version: CiliumVersion) -> st.SearchStrategy[object]:
    if setting.kind is bool:
        return st.booleans()
    if setting.choices:
        allowed = [
            c for c in setting.choices if version >= CiliumVersion.parse(setting.choice_since.get(c, "1.0"))
        ]
        return st.sampled_from(allowed)
    if setting.name == "mtu":
        return st.just(0) | st.integers(1280, 65535)
    if setting.kind is int:
        return st.integers(MAP_MIN, MAP_MAX)
    if setting.kind is float:
        return st.floats(min_value=1e-6, max_value=1.0)
    return st.sampled_from(["10.0.0.0/8", "10.42.0.0/16", "192.168.0.0/24"])


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[CiliumVersion, dict[str, object], dict[str, str]]:
    version = CiliumVersion.parse(draw(st.sampled_from(VERSIONS)))
    names = [name for name, setting in SETTINGS.items() if supported(setting, version)]
    chosen = draw(st.lists(st.sampled_from(names), unique=True, max_size=8))
    changes = {name: draw(_values(SETTINGS[name], version)) for name in chosen}
    # A starting ConfigMap in the version's own spelling, or an older release's leftovers.
    current = draw(
        st.sampled_from([{}, {"tunnel": "disabled"}, {"tunnel": "geneve"}, {"routing-mode": "native"}])
    )
    return version, changes, dict(current)


def _translate_or_reject(version, changes, current):
    try:
        return translate(version, changes, current)
    except ConflictingSettings:
        assume(False)
    except UnsupportedSetting as err:
        # Only one by-design refusal remains: the 1.10-1.13 tunnel key cannot hold a protocol under native routing.
        assert "tunnel" in str(err) and version < CiliumVersion.parse("1.14")
        assume(False)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(scenarios())
def test_read_after_apply_reflects_every_change(scenario) -> None:
    version, changes, current = scenario
    change = _translate_or_reject(version, changes, current)
    after = read(version, change.apply(current))
    assert {name: after[name] for name in changes} == change.settings


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(scenarios())
def test_settings_not_changed_keep_their_values(scenario) -> None:
    version, changes, current = scenario
    change = _translate_or_reject(version, changes, current)
    before, after = read(version, current), read(version, change.apply(current))
    # Before 1.14 one key holds both: routing native -> tunnel drops the protocol back to its default.
    shared_key = version < CiliumVersion.parse("1.14") and "routing" in changes
    untouched = {"tunnel_protocol"} if shared_key else set()
    for name in before.keys() - changes.keys() - untouched:
        assert after[name] == before[name], name


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(scenarios())
def test_applying_twice_changes_nothing_more(scenario) -> None:
    version, changes, current = scenario
    once = _translate_or_reject(version, changes, current).apply(current)
    assert translate(version, changes, once).configmap == {}
