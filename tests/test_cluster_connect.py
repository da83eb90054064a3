"""connect(): kubeconfig and context resolution and the one-line errors, against a tiny HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import kubernetes.client as k8s
import pytest
import yaml

from cilium_lab.cluster import apierrors
from cilium_lab.cluster import connect as connect_module
from cilium_lab.cluster.connect import connect
from cilium_lab.errors import ClusterError, InputError


def _kubeconfig(tmp_path, server: str, contexts=("lab",), current="lab"):
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": server}}],
        "users": [{"name": "u", "user": {"token": "t0ken"}}],
        "contexts": [{"name": n, "context": {"cluster": "c", "user": "u"}} for n in contexts],
        "current-context": current,
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(doc))
    return str(path)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def answering():
    """A server on 127.0.0.1 answering every GET with the status code the test sets."""
    state = {"code": 200, "auth": []}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            state["auth"].append(self.headers.get("Authorization"))
            body = {"major": "1", "minor": "29", "gitVersion": "v1.29.0"}
            if state["code"] != 200:
                body = {
                    "kind": "Status",
                    "status": "Failure",
                    "code": state["code"],
                    "message": "no",
                    "reason": "X",
                }
            data = json.dumps(body).encode()
            self.send_response(state["code"])
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", state
    server.shutdown()


def test_connects_and_reports_context_and_server(tmp_path, answering):
    url, _ = answering
    conn = connect(_kubeconfig(tmp_path, url, contexts=("lab", "other")), "other")
    assert conn.context == "other"
    assert conn.server == url


def test_every_request_carries_the_token_while_the_refresh_runs_at_most_once_a_second(
    tmp_path, answering, monkeypatch
):
    url, state = answering
    conn = connect(_kubeconfig(tmp_path, url))
    monkeypatch.setattr(connect_module.time, "monotonic", lambda: 1000.0)  # all within one second
    for _ in range(5):
        k8s.VersionApi(conn.api_client).get_code(_preload_content=False)
    assert state["auth"][-5:] == ["Bearer t0ken"] * 5
    calls = []
    throttled = connect_module._at_most_every(1.0, calls.append)
    for now in (1000.0, 1000.5, 1000.99, 1001.0, 1001.2, 1002.5):
        monkeypatch.setattr(connect_module.time, "monotonic", lambda now=now: now)
        throttled(k8s.Configuration())
    assert len(calls) == 3  # at 1000.0, 1001.0 and 1002.5


def test_the_throttle_stays_in_place_after_the_clients_hook_reinstalls_itself(
    tmp_path, answering, monkeypatch
):
    """The kubeconfig loader's hook sets itself on the configuration again each time it runs: the throttle
    must survive that, or every request after the first refresh pays the full refresh again."""
    from kubernetes.config import kube_config

    url, state = answering
    refreshes = []
    set_config = kube_config.KubeConfigLoader._set_config

    def counted(self, configuration):  # type: ignore[no-untyped-def]
        refreshes.append(1)
        return set_config(self, configuration)

    monkeypatch.setattr(kube_config.KubeConfigLoader, "_set_config", counted)
    conn = connect(_kubeconfig(tmp_path, url))
    throttled = conn.api_client.configuration.refresh_api_key_hook
    clock = [connect_module.time.monotonic() + 10.0]  # past the refresh the connect made
    monkeypatch.setattr(connect_module.time, "monotonic", lambda: clock[0])
    before = len(refreshes)
    for _ in range(10):
        k8s.VersionApi(conn.api_client).get_code(_preload_content=False)
    assert len(refreshes) - before == 1  # once within the second, not once per request
    assert conn.api_client.configuration.refresh_api_key_hook is throttled
    clock[0] += 1.5
    k8s.VersionApi(conn.api_client).get_code(_preload_content=False)
    assert len(refreshes) - before == 2  # and again once the second has passed
    assert state["auth"][-11:] == ["Bearer t0ken"] * 11


def test_current_context_is_the_default(tmp_path, answering):
    url, _ = answering
    assert connect(_kubeconfig(tmp_path, url), "").context == "lab"


def test_kubeconfig_env_is_used_when_no_path_given(tmp_path, answering, monkeypatch):
    url, _ = answering
    monkeypatch.setenv("KUBECONFIG", _kubeconfig(tmp_path, url))
    assert connect().server == url


def test_missing_kubeconfig_names_the_path_and_the_fix(tmp_path):
    missing = str(tmp_path / "nope.yaml")
    with pytest.raises(InputError, match=r"kubeconfig not found: .*nope\.yaml; pass --kubeconfig"):
        connect(missing)


def test_unknown_context_lists_available_ones(tmp_path, answering):
    url, _ = answering
    with pytest.raises(InputError, match=r"unknown context 'prod'.*available: lab, dev"):
        connect(_kubeconfig(tmp_path, url, contexts=("lab", "dev")), "prod")


def test_unreachable_server_names_the_url(tmp_path):
    url = f"http://127.0.0.1:{_free_port()}"
    with pytest.raises(apierrors.Unreachable, match=f"cannot reach the API server at {url}"):
        connect(_kubeconfig(tmp_path, url))


def test_expired_credentials_say_so(tmp_path, answering):
    url, state = answering
    state["code"] = 401
    with pytest.raises(apierrors.Unauthorized, match=r"401 Unauthorized.*expired or invalid"):
        connect(_kubeconfig(tmp_path, url))


def test_not_a_kubeconfig_is_a_clear_error(tmp_path):
    path = tmp_path / "k"
    path.write_text("just: [text")
    with pytest.raises(InputError, match="not a valid kubeconfig"):
        connect(str(path))


@pytest.mark.parametrize("args", [(3, ""), ("", 5), (None, "")])
def test_wrong_types_are_input_errors(args):
    with pytest.raises(InputError, match="must be a string"):
        connect(*args)


@pytest.mark.parametrize(
    ("bad", "error"),
    [("missing file", InputError), ("wrong type", InputError), ("unreachable", ClusterError)],
)
def test_errors_are_one_line(tmp_path, bad, error):
    # a missing kubeconfig is bad input (exit 2), as a wrong type is; one that reaches nothing is the
    # cluster's failure (exit 3)
    try:
        if bad == "missing file":
            connect(str(tmp_path / "x"))
        elif bad == "wrong type":
            connect(1)  # type: ignore[arg-type]
        else:
            connect(_kubeconfig(tmp_path, f"http://127.0.0.1:{_free_port()}"))
    except error as err:
        assert "\n" not in str(err)
    else:
        pytest.fail("no error raised")
