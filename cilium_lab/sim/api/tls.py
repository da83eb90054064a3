"""A throw-away self-signed certificate for the embedded cluster's HTTPS endpoint on 127.0.0.1.

kubectl (client-go) sends bearer tokens only over TLS, so the
cluster serves https with a fresh key and certificate (subjectAltName IP:127.0.0.1) made by the
`openssl` command line tool; the certificate goes into the kubeconfig as the cluster's CA. Without
`openssl` the cluster falls back to plain http (see `sim.cluster`).
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Certificate:
    cert_file: Path
    key_file: Path

    def pem(self) -> bytes:
        return self.cert_file.read_bytes()

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def available() -> bool:
    return shutil.which("openssl") is not None


def self_signed(directory: Path) -> Certificate:
    """A new EC P-256 key and a 10-year certificate for 127.0.0.1 in `directory`."""
    cert, key = directory / "server.crt", directory / "server.key"
    command = ["openssl", "req", "-x509", "-nodes", "-days", "3650"]
    command += ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
    command += ["-keyout", str(key), "-out", str(cert), "-subj", "/CN=cilium-lab-embedded-cluster"]
    command += ["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"]
    subprocess.run(command, check=True, capture_output=True, timeout=30)
    key.chmod(0o600)
    return Certificate(cert, key)
