"""Labs on cluster="local": which labs accept it, and the refusal of the rest before anything starts."""

from __future__ import annotations

from cilium_lab import labs
from cilium_lab.cli import main

LOCAL = [
    "01-native-routing",
    "02-kube-proxy-replacement",
    "05-bypass-iptables-conntrack",
    "06-bpf-host-routing",
    "07-big-tcp",
    "09-jumbo-mtu",
    "11-bbr",
]


def test_the_labs_with_a_host_level_equivalent():
    assert [lab.name for lab in labs.local_labs(labs.all_labs())] == LOCAL


def test_a_lab_without_one_is_refused_in_one_line_and_nothing_is_written(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", "01", "08", "--cluster", "local", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "08-hubble-overhead has no local kernel equivalent" in err and "01-native-routing" in err
    assert not out.exists()


def test_all_on_local_runs_only_the_labs_that_have_one(monkeypatch, tmp_path, capsys):
    chosen = []
    monkeypatch.setattr(labs, "run", lambda picked, **kw: chosen.extend(picked) or [])
    assert main(["run", "--all", "--cluster", "local", "--out", str(tmp_path)]) == 0
    assert [lab.name for lab in chosen] == LOCAL
    assert "the labs with a host-level equivalent" in capsys.readouterr().err
