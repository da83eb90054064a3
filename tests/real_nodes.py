"""The emulated nodes on a real control plane for tests (`cilium_lab.sim.nodeside`): `running` starts one
(skipping, saying why, where the control plane program is not built, or has no kubelet endpoints when exec
is needed) and waits for its agents; `as_context` is its kubeconfig with another context current (the CLI
uses the current one); `add_user` makes another user as a cluster admin does: a key and a certificate
signing request (openssl), a CertificateSigningRequest for the kube-apiserver-client signer, approved by the
admin and signed by the controller manager's signer (the program's CA). The certificate's organizations are
the user's groups, so a user can hold exactly the groups of deploy/rbac.yaml a flow needs."""

from __future__ import annotations

import base64
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml
from kubernetes import client

from cilium_lab.cluster import discover, rollout
from cilium_lab.cluster.connect import connect
from cilium_lab.errors import InputError
from cilium_lab.sim.nodeside import process
from cilium_lab.sim.nodeside.real_cluster import RealControlPlaneCluster

SIGNER = "kubernetes.io/kube-apiserver-client"
ROLLOUT = 120  # seconds; the real controllers on a loaded 2-core machine


@contextmanager
def running(profile: str, *, exec_needed: bool) -> Iterator[RealControlPlaneCluster]:
    """The profile's nodes on a real control plane, their agents rolled out, until the block ends."""
    try:
        process.binary()
    except InputError as err:
        pytest.skip(str(err))  # it says how to build it
    with RealControlPlaneCluster(profile, seed=0) as cluster:
        if exec_needed and not cluster.serves_exec:
            pytest.skip("this control plane build has no kubelet endpoints (--kubelet-shell): no exec")
        admin = connect(cluster.kubeconfig, context="admin")
        result = rollout.wait(admin, discover.find(admin), timeout=ROLLOUT)
        assert result.state == rollout.DONE, result.message
        yield cluster


def as_context(real: RealControlPlaneCluster, context: str, folder: Path) -> str:
    """The control plane's kubeconfig with `context` current, written into `folder`; its path."""
    doc = yaml.safe_load(Path(real.kubeconfig).read_text())
    doc["current-context"] = context
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{context}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return str(path)


def add_user(kubeconfig: str, user: str, groups: tuple[str, ...], folder: Path, timeout: float = 60) -> str:
    """A kubeconfig for `user` in `groups` (the admin context of `kubeconfig` approves it); its path."""
    folder.mkdir(parents=True, exist_ok=True)
    key, request = folder / f"{user}.key", folder / f"{user}.csr"
    subject = f"/CN={user}" + "".join(f"/O={g}" for g in groups)
    subprocess.run(
        ["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(request), "-subj", subject],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    certificates = client.CertificatesV1Api(connect(kubeconfig, context="admin").api_client)
    body = {
        "apiVersion": "certificates.k8s.io/v1",
        "kind": "CertificateSigningRequest",
        "metadata": {"name": user},
        "spec": {
            "request": base64.b64encode(request.read_bytes()).decode(),
            "signerName": SIGNER,
            "usages": ["client auth"],
            "expirationSeconds": 3600,
        },
    }
    certificates.create_certificate_signing_request(body)
    approval = certificates.read_certificate_signing_request(user)
    approval.status.conditions = [
        client.V1CertificateSigningRequestCondition(
            type="Approved", status="True", reason="TestUser", message="a user for a flow's groups"
        )
    ]
    certificates.replace_certificate_signing_request_approval(user, approval)
    deadline = time.monotonic() + timeout
    while not (certificate := certificates.read_certificate_signing_request(user).status.certificate):
        if time.monotonic() > deadline:
            raise AssertionError(
                f"the controller manager did not sign {user}'s certificate within {timeout:g}s"
            )
        time.sleep(0.25)
    doc = yaml.safe_load(Path(kubeconfig).read_text())
    doc["users"] = [
        {
            "name": user,
            "user": {
                "client-certificate-data": certificate,  # base64 of the PEM, as the API returns it
                "client-key-data": base64.b64encode(key.read_bytes()).decode(),
            },
        }
    ]
    doc["contexts"] = [{"name": user, "context": {"cluster": doc["clusters"][0]["name"], "user": user}}]
    doc["current-context"] = user
    path = folder / f"{user}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return str(path)
