"""No credential reaches any output: secrets planted in a kubeconfig and echoed by error messages are
searched for in every file the CLI flows write (records, samples, fingerprints, executed notebooks, HTML,
backups) and in their stdout and stderr. The flows run as `cilium-lab` subprocesses against one embedded
cluster reached through the planted kubeconfig (its server URL's user:password is ignored by the
token-authenticated server, so the client still connects with it)."""

from __future__ import annotations

import base64
import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from cilium_lab import scrub
from cilium_lab.sim.cluster import EmbeddedCluster

pytestmark = pytest.mark.slow

URL_USER, URL_PASSWORD = "planted-user", "PLANTEDurlPW42"
CONTEXT_TOKEN = "PLANTEDctxTOKEN7"
KEY_PEM = "-----BEGIN EC PRIVATE KEY-----\nPLANTEDkeyMATERIALxyz\n-----END EC PRIVATE KEY-----\n"
CERT_PEM = "-----BEGIN CERTIFICATE-----\nPLANTEDcertMATERIALxyz\n-----END CERTIFICATE-----\n"
EXEC_SECRET = "PLANTEDexecENVsecret9"
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJQTEFOVEVEIn0.UExBTlRFRHNpZ25hdHVyZQ"
LAB = "01-native-routing"
SMALL = ["-p", "samples", "2", "-p", "duration", "1"]


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _plant(source: Path, target: Path, *, server: str | None = None) -> list[str]:
    """Copy the embedded cluster's kubeconfig with every kind of secret planted; return the secrets."""
    config = yaml.safe_load(source.read_text())
    planted = copy.deepcopy(config)
    cluster = planted["clusters"][0]["cluster"]
    url = server or cluster["server"]
    cluster["server"] = url.replace("https://", f"https://{URL_USER}:{URL_PASSWORD}@")
    context = f"admin?token={CONTEXT_TOKEN}"  # a context name is copied into records
    planted["contexts"][0]["name"] = context
    planted["current-context"] = context
    planted["users"] += [
        {
            "name": "cert-user",
            "user": {"client-key-data": _b64(KEY_PEM), "client-certificate-data": _b64(CERT_PEM)},
        },
        {
            "name": "plugin-user",
            "user": {
                "exec": {
                    "apiVersion": "client.authentication.k8s.io/v1",
                    "command": "get-token",
                    "env": [{"name": "CLOUD_SECRET", "value": EXEC_SECRET}],
                }
            },
        },
        {"name": "oidc-user", "user": {"auth-provider": {"name": "oidc", "config": {"id-token": JWT}}}},
    ]
    target.write_text(yaml.safe_dump(planted))
    target.chmod(0o600)
    tokens = [u["user"]["token"] for u in config["users"] if "token" in u["user"]]
    return [
        URL_PASSWORD,
        f"{URL_USER}:",
        CONTEXT_TOKEN,
        *tokens,
        cluster["certificate-authority-data"],
        _b64(KEY_PEM),
        _b64(CERT_PEM),
        "PLANTEDkeyMATERIAL",
        "PLANTEDcertMATERIAL",
        EXEC_SECRET,
        JWT,
    ]


def _cli(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    done = subprocess.run(
        [sys.executable, "-m", "cilium_lab.cli", *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=cwd,
        env=env,
    )
    if check and done.returncode != 0:
        raise AssertionError(f"cilium-lab {' '.join(args)} exited {done.returncode}: {done.stderr[-2000:]}")
    return done


def _leaks(secrets: list[str], texts: dict[str, str]) -> list[str]:
    return [
        f"{secret[:24]}... in {where}"
        for where, text in texts.items()
        for secret in secrets
        if secret in text
    ]


def test_no_planted_secret_reaches_any_output(tmp_path):
    work, secrets_dir = tmp_path / "work", tmp_path / "secrets"
    work.mkdir()
    secrets_dir.mkdir()
    seen: dict[str, str] = {}
    with EmbeddedCluster(profile="seed-mixed", seed=0) as cluster:
        kubeconfig = secrets_dir / "planted.kubeconfig"
        planted = _plant(Path(cluster.kubeconfig), kubeconfig)
        target = ["--cluster", "kube", "--kubeconfig", str(kubeconfig)]

        def flow(name: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
            done = _cli(*args, cwd=work, check=check)
            seen[f"{name} stdout"], seen[f"{name} stderr"] = done.stdout, done.stderr
            return done

        flow("run", "run", LAB, "--approve", "--html", "--out", str(work / "run"), *SMALL, *target)
        flow("bench", "bench", *target, "--tests", "TCP_RR", "--samples", "2", "--duration", "1",
             "--results-dir", str(work / "bench"))  # fmt: skip
        flow("scorecard", "scorecard", *target, "--json")
        listed = json.loads(flow("backups", "backups", *target, "--json").stdout)
        assert listed, "the approved lab saved no backup: the restore plan below would not run"
        flow("restore plan", "restore", listed[0]["stamp"], *target)
        # an API error that echoes the server URL, inside a lab (into its notebook and HTML)
        cluster.faults.api_error("get", "configmaps", 401)
        failed = flow(
            "run 401", "run", LAB, "--html", "--out", str(work / "fault"), *SMALL, *target, check=False
        )
        assert failed.returncode != 0
        cluster.faults.clear()
        # an unreachable server: the error line names the URL
        dead = secrets_dir / "dead.kubeconfig"
        planted += _plant(Path(cluster.kubeconfig), dead, server="https://127.0.0.1:9")
        gone = flow("bench dead", "bench", *target[:2], "--kubeconfig", str(dead), "--results-dir",
                    str(work / "dead"), check=False)  # fmt: skip
        assert gone.returncode != 0 and "127.0.0.1:9" in gone.stderr

    written = {
        str(p.relative_to(work)): p.read_text(errors="replace") for p in work.rglob("*") if p.is_file()
    }
    kinds = {p.suffix for p in work.rglob("*") if p.is_file()}
    assert {".json", ".jsonl", ".ipynb", ".html"} <= kinds, kinds
    assert any("fingerprints.jsonl" in name for name in written)
    assert any(name.startswith("run/results/backups/") for name in written), sorted(written)
    fault_html = written["fault/" + LAB + ".html"]
    assert "***@127.0.0.1" in fault_html, "the 401 error (which names the server URL) is not in the HTML"
    assert (
        "***@127.0.0.1" in seen["run stdout"] + seen["run stderr"] + written["run/results/" + LAB + ".json"]
    )
    assert _leaks(planted, written | seen) == []


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("server: https://alice:s3cret-pw@10.0.0.1:6443", "s3cret-pw"),
        ("dial https://alice:s3cret-pw@10.0.0.1:6443/api failed", "alice"),
        ("https://deadbeeftoken@example.com/v1", "deadbeeftoken"),
        ("Authorization: Bearer abcdefghij0123", "abcdefghij0123"),
        ("authorization: bearer abc.def-ghi", "abc.def-ghi"),
        ("id: eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl", "eyJhbGciOiJIUzI1NiJ9"),
        ("-----BEGIN RSA PRIVATE KEY-----\nMIIEkeybody\n-----END RSA PRIVATE KEY-----", "MIIEkeybody"),
        ('"-----BEGIN CERTIFICATE-----\\nMIIBcertbody\\n-----END CERTIFICATE-----"', "MIIBcertbody"),
        ("client-key-data: QUJDREVGR0hJSg==", "QUJDREVGR0hJSg=="),
        ("client-certificate-data: QUJDREVGR0hJSg==", "QUJDREVGR0hJSg=="),
        ("certificate-authority-data: QUJDREVGR0hJSg==", "QUJDREVGR0hJSg=="),
        ("blob LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t tail", "LS0tLS1CRUdJTi"),
        ("token: 0123456789abcdef", "0123456789abcdef"),
        ('{"token": "short"}', "short"),
        ("&quot;token&quot;: &quot;abcdefgh&quot;", "abcdefgh"),
        ("https://host/x?password=hunter2&token=tk1&a=1", "hunter2"),
        ("https://host/x?password=hunter2&token=tk1&a=1", "tk1"),
        ("id-token: my-oidc-token", "my-oidc-token"),
    ],
)
def test_each_kind_of_secret_is_removed(text, secret):
    assert secret not in scrub.scrub(text)


def test_what_is_no_credential_is_kept():
    text = 'tokens: 5; secrets.token_hex(3); password = ""; https://127.0.0.1:6443/api; sha256 ab12'
    assert scrub.scrub(text) == text


def test_structured_data_keeps_json_valid_and_drops_a_credential_key_whole():
    data = {
        "server": "https://u:p@h:1",
        "user": {"token": {"nested": "x"}, "name": "admin"},
        "n": [1.5, None],
    }
    text = scrub.dumps(data, sort_keys=True)
    assert json.loads(text) == {
        "n": [1.5, None],
        "server": "https://***@h:1",
        "user": {"name": "admin", "token": scrub.REDACTED},
    }


_PIECES = st.sampled_from(
    [
        "token", "TOKEN", "id-token", "password", "passwd", "secret", "api_key", "apikey", "client-key-data",
        "client_secret", "certificate-authority-data", "Bearer ", "bearer\t", "eyJhbGciOi", ".abcd", "https://",
        "u:p@", "@", ":", "=", " ", '"', "'", "&quot;", "\\\"", "\n", "-----BEGIN RSA KEY-----",
        "-----END RSA KEY-----", "LS0tLS1CRUdJTiBQ", "abc", "XYZ", "0123", "/", "?", "&",
        # what scrub's per-pattern words must not miss: the other spellings, the words split by a
        # replacement, and the non-ASCII letters (?i) reads as k, s and i but str.lower() does not
        "api-key", "client_key", "Client-Key", "certificate-", "passw", "PassWd", "eyJ", "EYJ", "bear", "er",
        "tok", "en", "://", "-", "[REDACTED]", "***", "\u212a", "\u017f", "\u0131", "\u0130", "to\u212aen",
        "\u017fecret", "cl\u0131ent-key", "é",
    ]
)  # fmt: skip


@given(st.lists(st.one_of(_PIECES, st.text(max_size=4)), max_size=12).map("".join))
@settings(max_examples=400, deadline=None)
@example("see https://u:p@host")  # one text per pattern, so that a precheck missing one fails at once
@example("Authorization: Bearer abc.def")
@example("jwt eyJabcd.efgh.ij")
@example('{"token": "x", "password"="y"}')
@example("-----BEGIN RSA KEY-----\nabc\n-----END RSA KEY-----")
@example("data LS0tLS1CRUdJTiBQ")
@example("\u017fecret: y")  # non-ASCII: every pattern runs ((?i) reads ſ as s, str.lower() does not)
@example("https://u:p@h ?api-key=1 and Bearer x.y")
def test_the_quick_precheck_never_skips_a_text_a_pattern_would_change(text):
    unconditional = text
    for pattern, replacement in scrub._PATTERNS:
        unconditional = pattern.sub(replacement, unconditional)
    assert scrub.scrub(text) == unconditional
