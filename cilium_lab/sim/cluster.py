"""Start and stop an embedded cluster: `EmbeddedCluster` runs the API server in a background thread.

Loads the profile (`state.profiles`), installs the initial objects (`control.bootstrap`) or restores a
saved state (`control.state_file`), serves `api.server`'s app on 127.0.0.1 with its own event loop, and writes
a kubeconfig with one context per user (`admin`, `readonly`; bearer tokens), created with mode 0600 and never
through an existing file unless asked (`overwrite`). It serves https with a
throw-away self-signed certificate (`api.tls`), because kubectl sends tokens only over TLS; without
the `openssl` tool it serves plain http and treats requests without a token as `admin` (kubectl then
always acts as admin). Only 127.0.0.1 is ever bound.
"""

from __future__ import annotations

import base64
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml

from cilium_lab.errors import InputError
from cilium_lab.sim.api import server, tls
from cilium_lab.sim.api.threaded_site import ThreadedSite
from cilium_lab.sim.control import bootstrap, state_file
from cilium_lab.sim.control.backend import Backend, Timing
from cilium_lab.sim.control.faults import Faults
from cilium_lab.sim.state import profiles

log = logging.getLogger(__name__)


class EmbeddedCluster:
    """A simulated Kubernetes cluster on 127.0.0.1; use as a context manager or call start()/stop()."""

    def __init__(
        self,
        profile: str = "seed-mixed",
        seed: int = 0,
        state_file: str | None = None,
        port: int = 0,
        kubeconfig: str | None = None,
        timing: Timing | None = None,
        overwrite: bool = False,
    ) -> None:
        if not 0 <= port <= 65535:
            raise InputError(f"port {port} is out of range: use 0 (any free port) or 1-65535")
        self.backend = Backend(profiles.load(profile), seed=seed, timing=timing)
        self.state_file = state_file
        self.port = port
        self._kubeconfig_path = kubeconfig
        self._overwrite = overwrite  # replace an existing file at `kubeconfig` (else it must not exist)
        self._tmpdir: tempfile.TemporaryDirectory[str] | None = None
        self._certificate: tls.Certificate | None = None
        self._site: ThreadedSite | None = None
        self._saver: state_file.Saver | None = None
        self.url = ""
        self.kubeconfig = ""

    @property
    def faults(self) -> Faults:
        return self.backend.faults

    @property
    def profile(self) -> profiles.Profile:
        return self.backend.profile

    @property
    def ca_certificate(self) -> bytes | None:
        """The PEM certificate clients must trust (None when serving plain http)."""
        return self._certificate.pem() if self._certificate else None

    def token(self, user: str = "admin") -> str:
        return self.backend.users.token_of(user)

    def add_user(self, user: str, groups: tuple[str, ...] = ()) -> str:
        """A new bearer-token user (no permissions until a RoleBinding grants some); returns the token."""
        with self.backend.store.lock:
            token = self.backend.users.add(user, groups)
        self._write_kubeconfig()
        return token

    def add_configmap(self, namespace: str, name: str, data: dict[str, str]) -> None:
        """Create a ConfigMap in the cluster directly, as its initial objects are: for the one who started
        it, which then needs no API client of its own (importing one costs about a CPU-second)."""
        bootstrap.add_configmap(self.backend, namespace, name, data)

    @property
    def serving(self) -> bool:
        """Whether the API server's thread still runs (False once stopped, or when it never started)."""
        return bool(self._site and self._site.serving)

    def advance(self, seconds: float) -> None:
        self.backend.clock.advance(seconds)

    # lifecycle -------------------------------------------------------------------------------------
    def start(self) -> EmbeddedCluster:
        restored = bool(self.state_file) and state_file.restore(self.backend, self.state_file)
        if not restored:
            bootstrap.install(self.backend)
        if self.state_file:
            self._saver = state_file.Saver(self.backend, self.state_file)
        self._tmpdir = tempfile.TemporaryDirectory(prefix="cilium-lab-sim-")
        self._certificate = tls.self_signed(Path(self._tmpdir.name)) if tls.available() else None
        if self._certificate is None:
            log.warning(
                "openssl not found: the embedded cluster serves plain http and anonymous requests act as admin"
            )
            self.backend.anonymous = next(i for i in self.backend.users.tokens.values() if i.user == "admin")
        on_tick = self._saver.maybe_save if self._saver else (lambda: None)
        self._site = ThreadedSite(
            lambda: server.build_app(self.backend, on_tick),
            what="the embedded cluster",
            thread="embedded-cluster",
            port=self.port,
            ssl_context=self._certificate.server_context() if self._certificate else None,
        )
        self._site.start()
        self.port, self.url = self._site.port, self._site.url
        try:
            self._write_kubeconfig()
        except OSError as err:
            self.stop()
            raise InputError(
                f"cannot write the kubeconfig to {self._kubeconfig_path}: {err.strerror or err}"
                " (an existing file is replaced only when asked to)"
            ) from None
        return self

    def stop(self) -> None:
        if self._site:
            self._site.stop()
        if self._saver:
            self._saver.save()
        if self._tmpdir:
            self._tmpdir.cleanup()
            self._tmpdir = None

    def __enter__(self) -> EmbeddedCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # kubeconfig -----------------------------------------------------------------------------------
    def kubeconfig_document(self) -> dict[str, Any]:
        users = [
            u for u in ("admin", "readonly") if any(i.user == u for i in self.backend.users.tokens.values())
        ]
        users += sorted({i.user for i in self.backend.users.tokens.values()} - set(users))
        name = f"sim-{self.profile.name}"
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": name, "cluster": self._cluster_entry()}],
            "users": [{"name": u, "user": {"token": self.token(u)}} for u in users],
            "contexts": [
                {"name": u, "context": {"cluster": name, "user": u, "namespace": "default"}} for u in users
            ],
            "current-context": "admin",
            "preferences": {},
        }

    def _cluster_entry(self) -> dict[str, str]:
        if self._certificate is None:
            return {"server": self.url}
        return {
            "server": self.url,
            "certificate-authority-data": base64.b64encode(self._certificate.pem()).decode(),
        }

    def _write_kubeconfig(self) -> None:
        """Write the kubeconfig readable by its owner only from the first byte: a new file is created with
        mode 0600 (O_EXCL: never through a file or link someone put there); a rewrite (a user added)
        replaces our own file by a new 0600 file in one rename."""
        assert self._tmpdir is not None, "start() the cluster first"
        path = Path(self._kubeconfig_path or Path(self._tmpdir.name) / "kubeconfig")
        text = yaml.safe_dump(self.kubeconfig_document(), sort_keys=False)
        write_private(path, text, replace=self.kubeconfig == str(path) or self._overwrite)
        self.kubeconfig = str(path)


def write_private(path: Path, text: str, replace: bool = False) -> None:
    """Write `text` to `path`, readable by its owner only from the first byte: without `replace` a new file
    (`path` must not exist); with it, a new 0600 file replaces `path` in one rename."""
    if replace:
        partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        partial.unlink(missing_ok=True)
        _create_private(partial, text)
        os.replace(partial, path)
    else:
        _create_private(path, text)


def _create_private(path: Path, text: str) -> None:
    """Create `path` (it must not exist) with mode 0600 and write `text` to it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)


def start_embedded(
    profile: str = "seed-mixed", seed: int = 0, state_file: str | None = None, port: int = 0
) -> EmbeddedCluster:
    """Start an embedded cluster and return it (call `.stop()` when done)."""
    return EmbeddedCluster(profile, seed=seed, state_file=state_file, port=port).start()
