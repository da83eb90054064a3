"""More users of a real control plane, made as a cluster admin makes them: a key and a certificate signing
request (openssl), a CertificateSigningRequest for the kube-apiserver-client signer, approved by the admin
and signed by the controller manager's signer (the program's CA). The certificate's organizations are the
user's groups, so a user can hold exactly the groups of deploy/rbac.yaml a flow needs."""

from __future__ import annotations

import base64
import subprocess
import time
from pathlib import Path

import yaml
from kubernetes import client

from cilium_lab.cluster.connect import connect

SIGNER = "kubernetes.io/kube-apiserver-client"


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
