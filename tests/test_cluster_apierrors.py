"""apierrors: client exceptions become one-line ClusterErrors; exec's exit-code parsing."""

from __future__ import annotations

import json

import pytest
from kubernetes.client.exceptions import ApiException

from cilium_lab.cluster import apierrors
from cilium_lab.cluster.exec import exit_code


def _api_exception(status: int, reason: str, message: str) -> ApiException:
    err = ApiException(status=status, reason=reason)
    err.body = json.dumps(
        {"kind": "Status", "status": "Failure", "reason": reason, "message": message, "code": status}
    )
    return err


def test_403_names_verb_resource_namespace_and_role():
    err = apierrors.translate(
        _api_exception(403, "Forbidden", 'configmaps "cilium-config" is forbidden'),
        verb="patch",
        resource="configmaps",
        namespace="kube-system",
    )
    assert isinstance(err, apierrors.Forbidden)
    assert str(err).startswith("forbidden: cannot patch configmaps in kube-system; the operator role")
    assert "deploy/rbac.yaml" in str(err)


def test_403_from_pod_security_names_the_namespace_label_not_a_role():
    """Pod Security admission refuses with 403 too; no RBAC role would help, so none is named (kube-apiserver
    1.32's message, as the differential test records it)."""
    message = (
        'pods "cilium-lab-host-node-1" is forbidden: violates PodSecurity "baseline:latest": host namespaces'
        ' (hostNetwork=true, hostPID=true), privileged (container "host" must not set securityContext.privileged=true)'
    )
    err = apierrors.translate(
        _api_exception(403, "Forbidden", message), verb="create", resource="pods", namespace="cilium-lab-host"
    )
    assert isinstance(err, apierrors.Forbidden)
    assert str(err).startswith(
        "refused by Pod Security admission: cannot create pods in cilium-lab-host (pods "
    )
    assert "pod-security.kubernetes.io/enforce must admit it" in str(err)
    assert "role" not in str(err)


def test_403_on_exec_points_at_the_role_that_grants_it_there():
    def role(namespace: str) -> str:
        err = apierrors.translate(
            _api_exception(403, "Forbidden", "x"), verb="get", resource="pods/exec", namespace=namespace
        )
        return str(err).split("; ")[1].split(" in deploy/rbac.yaml")[0]

    assert role("kube-system") == apierrors.STATUS_EXEC_ROLE and "root on the node" in role("kube-system")
    assert role("cilium-lab-bench") == apierrors.BENCH_ROLE
    assert role("cilium-lab-host") == apierrors.HOST_ROLE


def test_409_distinguishes_already_exists_from_conflict():
    exists = apierrors.translate(
        _api_exception(409, "AlreadyExists", 'configmaps "l" already exists'),
        verb="create",
        resource="configmaps",
    )
    stale = apierrors.translate(
        _api_exception(409, "Conflict", "the object has been modified"), verb="update", resource="configmaps"
    )
    assert isinstance(exists, apierrors.AlreadyExists)
    assert isinstance(stale, apierrors.Conflict)


def test_websocket_handshake_status_is_recognised():
    err = apierrors.translate(
        ApiException(status=0, reason="Handshake status 404 Not Found"), verb="create", resource="pods/exec"
    )
    assert isinstance(err, apierrors.NotFound)


def test_500_is_a_server_error_with_the_message():
    err = apierrors.translate(
        _api_exception(500, "InternalError", "etcd down"), verb="get", resource="nodes", server="https://x"
    )
    assert isinstance(err, apierrors.ServerError) and "etcd down" in str(err)


def test_read_is_retried_once_on_500_and_write_is_not():
    calls = []

    def flaky(**kwargs):
        calls.append(kwargs)
        if len(calls) == 1:
            raise _api_exception(500, "InternalError", "blip")
        return "ok"

    assert apierrors.call(flaky, verb="get", resource="nodes") == "ok"
    calls.clear()
    with pytest.raises(apierrors.ServerError):
        apierrors.call(flaky, verb="patch", resource="configmaps")
    assert len(calls) == 1


@pytest.mark.parametrize(
    ("channel", "expected"),
    [
        ("", (0, "")),
        ('{"metadata":{},"status":"Success"}', (0, "")),
        (
            '{"status":"Failure","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}',
            (3, ""),
        ),
        (
            '{"status":"Failure","message":"exec: \\"x\\": executable file not found in $PATH"}',
            (127, 'exec: "x": executable file not found in $PATH'),
        ),
    ],
)
def test_exit_code_from_error_channel(channel, expected):
    assert exit_code(channel) == expected
