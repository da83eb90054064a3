"""`cilium-lab recover` through the CLI entry point on the embedded cluster, where the README's Safety
section and verb_recover's docstring make promises the signal tests do not reach: a change whose process
is still alive is left alone even with --approve (exit 3: its backup is not put back, its journal stays
open), and a bad --timeout or --results-dir is one line, exit 2, with nothing read or written."""

from __future__ import annotations

import os

import pytest

from cilium_lab.change import journal
from cilium_lab.change.backups import backup
from cilium_lab.cli import main
from cilium_lab.cluster import configmaps

NS, CM, VERSION = "kube-system", "cilium-config", "1.13.4"


def _on(embedded) -> list[str]:
    return ["--cluster", "kube", "--kubeconfig", str(embedded.kubeconfig)]


def test_a_change_whose_process_is_alive_is_described_and_left_alone(embedded, conn, tmp_path, capsys):
    runs = tmp_path / "runs"
    saved = backup.save(conn, NS, CM, VERSION, runs)
    # a change in flight in this very process: backup taken, journal open, its patch written
    opened = journal.open_journal(
        conn, NS, runs, kind="apply", purpose="apply bbr", holder="alice@jumphost pid 1 run x",
        backup={"configmap": saved.configmap_backup, "path": saved.path},
    )  # fmt: skip
    opened.about("patch")
    configmaps.patch(conn, NS, CM, {"enable-bbr": "true"})
    opened.done("patch")
    during = configmaps.read(conn, NS, CM).data
    assert during != saved.data  # so a recovery that put the backup back would show

    assert main(["recover", *_on(embedded), "--results-dir", str(runs)]) == 6
    found = capsys.readouterr().out
    assert f"run {opened.run} (apply: apply bbr)" in found and "steps done: patch" in found
    assert "its process: alive (this process)" in found and os.getpid() == opened.record["pid"]

    assert main(["recover", *_on(embedded), "--results-dir", str(runs), "--approve"]) == 3
    said = capsys.readouterr().out
    assert f"run {opened.run}: skipped - its process is alive (this process): stop it first" in said
    assert configmaps.read(conn, NS, CM).data == during  # the live change was not undone under it
    assert [r["run"] for r in journal.cluster_journals(conn, NS)] == [opened.run]
    assert [r["run"] for _, r in journal.disk_journals(runs)] == [opened.run]


BAD = {
    "timeout nan": (["--timeout", "nan"], "--timeout must be a number of seconds from 1 to 3600, got 'nan'"),
    "timeout negative": (["--timeout=-5"], "--timeout must be from 1 to 3600 seconds, got '-5'"),
    "timeout of 1e9 seconds": (["--timeout", "1e9"], "--timeout must be from 1 to 3600 seconds"),
    "timeout a word": (["--timeout", "soon"], "got 'soon'"),
    "results-dir that is a file": (["--results-dir", "notes.txt"], "'notes.txt' is a file, not a folder"),
    "results-dir under a file": (["--results-dir", "notes.txt/runs"], "cannot be created"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_one_line_exit_2_and_nothing_is_written(case, tmp_path, monkeypatch, capsys):
    argv, expected = BAD[case]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("mine\n")
    # an unreachable cluster: a bad value must be refused before any connection is tried
    kubeconfig = tmp_path / "nowhere.kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:9'}}]\n"
        "users: [{name: u, user: {token: t}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\n"
    )
    before = sorted(p.name for p in tmp_path.iterdir())
    assert main(["recover", "--kubeconfig", str(kubeconfig), *argv, "--approve"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("cilium-lab: error: ") and err.count("\n") == 1, err
    assert expected in err, err
    assert (
        sorted(p.name for p in tmp_path.iterdir()) == before
        and (tmp_path / "notes.txt").read_text() == "mine\n"
    )
