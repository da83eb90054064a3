"""Run a command inside a pod, as `kubectl exec` does, and return its output and exit code.

Called by `cluster.snapshot` (status, ip, ethtool, uname in agent pods), the change verifier and the
benchmark pods (`cluster.workloads`, `bench`); calls `kubernetes.stream.stream` and reads the
client's `WSClient` channels: stdout, stderr and the error channel, whose Status object carries the
exit code. `stream` swaps the ApiClient's `call_api` for the duration of a call, so each exec gets a
client of its own: `run_many` runs them in parallel threads safely.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import kubernetes.client as k8s
from kubernetes.client.exceptions import ApiException
from kubernetes.stream import stream
from kubernetes.stream.ws_client import ERROR_CHANNEL

from cilium_lab.cluster import apierrors
from cilium_lab.cluster.connect import Connection
from cilium_lab.errors import ClusterError, InputError

Target = tuple[str, str]  # (namespace, pod)
# the error channel's message when the exec never reached a running container (kubectl prints "error:
# Internal error occurred: unable to upgrade connection: container not found (...)")
NOT_STARTED = "unable to upgrade connection"


@dataclass(frozen=True)
class ExecOutput:
    stdout: str
    stderr: str
    code: int

    @property
    def ok(self) -> bool:
        return self.code == 0


def _check(argv: object, timeout: object) -> list[str]:
    if isinstance(argv, str) or not isinstance(argv, Sequence) or not argv:
        raise InputError("argv must be a non-empty list of strings, e.g. ['uname', '-r']")
    if not all(isinstance(a, str) for a in argv):
        raise InputError("every argv element must be a string")
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise InputError(f"timeout must be a positive number of seconds, got {timeout!r}")
    return list(argv)


def exit_code(error_channel: str) -> tuple[int, str]:
    """(exit code, message) from the error channel's Status; an empty channel means success."""
    if not error_channel.strip():
        return 0, ""
    try:
        status = json.loads(error_channel)
    except ValueError:
        return 1, error_channel.strip()
    if status.get("status") == "Success":
        return 0, ""
    message = str(status.get("message") or "")
    for cause in (status.get("details") or {}).get("causes") or []:
        if cause.get("reason") == "ExitCode":
            return int(cause.get("message", 1)), ""
    # The command never started (not found, not executable): report it as a shell would.
    return (127 if "not found" in message else 126), message


def run(
    conn: Connection,
    namespace: str,
    pod: str,
    argv: Sequence[str],
    *,
    container: str | None = None,
    timeout: float = 60,
) -> ExecOutput:
    """Run `argv` in the pod (no shell, no TTY); raise ClusterError if it cannot run or times out."""
    command = _check(argv, timeout)
    api = k8s.CoreV1Api(k8s.ApiClient(conn.configuration))
    where = {
        "verb": "create",
        "resource": "pods/exec",
        "namespace": namespace,
        "name": pod,
        "server": conn.server,
    }
    kwargs = {"container": container} if container else {}
    try:
        client = stream(
            api.connect_get_namespaced_pod_exec,
            pod,
            namespace,
            command=command,
            stdout=True,
            stderr=True,
            stdin=False,
            tty=False,
            _preload_content=False,
            _request_timeout=timeout,
            **kwargs,
        )
    except ApiException as err:
        raise apierrors.translate(err, **where) from None
    try:
        return _collect(client, timeout, f"{' '.join(command)!r} in pod {namespace}/{pod}")
    finally:
        client.close()
        api.api_client.close()


def _collect(client, timeout: float, what: str) -> ExecOutput:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    stdout, stderr = [], []
    while client.is_open():
        left = deadline - time.monotonic()
        if left <= 0:
            raise ClusterError(
                f"{what} did not finish within {timeout:g}s; raise the timeout or check the pod"
            )
        client.update(timeout=min(left, 1.0))
        stdout.append(client.read_stdout(timeout=0) if client.peek_stdout() else "")
        stderr.append(client.read_stderr(timeout=0) if client.peek_stderr() else "")
    stdout.append(client.read_stdout(timeout=0) if client.peek_stdout() else "")
    stderr.append(client.read_stderr(timeout=0) if client.peek_stderr() else "")
    code, message = exit_code(client.read_channel(ERROR_CHANNEL) or "")
    if NOT_STARTED in message:
        # the API server could not reach a running container (it is not running, or the pod is gone):
        # the command never ran, so there is no exit code to report (staging/src/k8s.io/apiserver/pkg/
        # util/proxy/streamtranslator.go sends this on the error channel to a v5 client)
        raise ClusterError(f"{what} could not run: {message}")
    if message:
        stderr.append(message)
    return ExecOutput("".join(stdout), "".join(stderr), code)


def run_many(
    conn: Connection,
    targets: Sequence[Target],
    argv: Sequence[str],
    *,
    container: str | None = None,
    timeout: float = 60,
    max_workers: int = 8,
) -> dict[Target, ExecOutput | ClusterError]:
    """Run the same command in many pods at once; a pod that fails yields its ClusterError, not a raise."""
    _check(argv, timeout)
    if isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1:
        raise InputError(f"max_workers must be a positive integer, got {max_workers!r}")

    def one(target: Target) -> ExecOutput | ClusterError:
        try:
            return run(conn, target[0], target[1], argv, container=container, timeout=timeout)
        except ClusterError as err:
            return err

    unique = list(dict.fromkeys(tuple(t) for t in targets))
    if not unique:
        return {}
    with ThreadPoolExecutor(max_workers=min(max_workers, len(unique))) as pool:
        return dict(zip(unique, pool.map(one, unique), strict=True))
