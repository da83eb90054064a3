"""Connect to a cluster through the official kubernetes client: kubeconfig + context -> `Connection`.

Called by `cilium_lab.targets` (and the CLI, the labs, `cluster.exec`, `cluster.snapshot`, the
benchmark pods); calls `kubernetes.config` to load credentials and probes `/version` once so a wrong
path, an unknown context, an unreachable server or expired credentials fail here with one clear
line (`cluster.apierrors`). Each `Connection` has its own client `Configuration`: nothing global is
touched, so connections to several clusters live side by side.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import kubernetes.client as k8s
import kubernetes.config as k8s_config
from kubernetes.config.config_exception import ConfigException

from cilium_lab.cluster import apierrors
from cilium_lab.errors import ClusterError, InputError

IN_CLUSTER = "in-cluster"
PROBE_TIMEOUT = 10.0
# the client's token refresh hook runs before every request and sets host, CA and token again each time
# (kubernetes/config/kube_config.py, KubeConfigLoader._set_config): once a second is enough, since an
# expiring token is renewed 5 minutes ahead (EXPIRY_SKEW_PREVENTION_DELAY there) and an in-cluster token file
# is read again each minute (incluster_config.py, token_refresh_period)
REFRESH_EVERY = 1.0


@dataclass(frozen=True)
class Connection:
    """An open client to one cluster. `server` is the API URL; `context` the kubeconfig context used."""

    api_client: k8s.ApiClient = field(repr=False)
    core: k8s.CoreV1Api = field(repr=False)
    apps: k8s.AppsV1Api = field(repr=False)
    custom: k8s.CustomObjectsApi = field(repr=False)
    context: str
    server: str
    kubeconfig: str = ""
    timeout: float = 30.0  # per API request

    @property
    def configuration(self) -> k8s.Configuration:
        return self.api_client.configuration


def _default_paths() -> list[str]:
    env = os.environ.get("KUBECONFIG", "")
    if env:
        return [p for p in env.split(os.pathsep) if p]
    return [str(Path("~/.kube/config").expanduser())]


def _in_cluster_available() -> bool:
    return (
        bool(os.environ.get("KUBERNETES_SERVICE_HOST"))
        and Path(k8s_config.incluster_config.SERVICE_TOKEN_FILENAME).exists()
    )


def _check_args(kubeconfig: object, context: object) -> None:
    for label, value in (("kubeconfig", kubeconfig), ("context", context)):
        if not isinstance(value, str):
            raise InputError(
                f"{label} must be a string (a path or a context name), got {type(value).__name__}"
            )


def _contexts(config_file: str) -> tuple[list[str], str]:
    try:
        contexts, active = k8s_config.list_kube_config_contexts(config_file=config_file)
    except ConfigException as err:
        raise InputError(f"kubeconfig {config_file} has no usable contexts ({err}); check the file") from None
    except Exception as err:  # YAML errors of many types: the file is not a kubeconfig
        raise InputError(
            f"kubeconfig {config_file} is not a valid kubeconfig ({type(err).__name__}); check the file"
        ) from None
    return [c["name"] for c in contexts or []], (active or {}).get("name", "")


def _load_file(paths: list[str], context: str, configuration: k8s.Configuration) -> str:
    missing = [p for p in paths if not Path(p).is_file()]
    if len(missing) == len(paths):
        raise InputError(
            f"kubeconfig not found: {', '.join(paths)}; pass --kubeconfig PATH (kubeconfig=...) or set KUBECONFIG"
        )
    config_file = os.pathsep.join(p for p in paths if p not in missing)
    names, active = _contexts(config_file)
    if context and context not in names:
        raise InputError(
            f"unknown context {context!r} in {config_file}; available: {', '.join(names) or '(none)'}"
        )
    if not context and not active:
        raise InputError(f"kubeconfig {config_file} has no current context; pass one of: {', '.join(names)}")
    try:
        k8s_config.load_kube_config(
            config_file=config_file, context=context or None, client_configuration=configuration
        )
    except (ConfigException, OSError, ValueError) as err:
        raise ClusterError(f"cannot load context {context or active!r} from {config_file}: {err}") from None
    return context or active


def _load(kubeconfig: str, context: str, configuration: k8s.Configuration) -> tuple[str, str]:
    """Fill `configuration` from the kubeconfig (or in-cluster, in a pod); returns (context, source)."""
    _check_args(kubeconfig, context)
    paths = [kubeconfig] if kubeconfig else _default_paths()
    if (
        not kubeconfig
        and not context
        and not any(Path(p).is_file() for p in paths)
        and _in_cluster_available()
    ):
        k8s_config.load_incluster_config(client_configuration=configuration)
        return IN_CLUSTER, IN_CLUSTER
    return _load_file(paths, context, configuration), os.pathsep.join(paths)


def check_kubeconfig(kubeconfig: str = "", context: str = "") -> None:
    """The checks `connect` makes before it reaches the network: the kubeconfig exists, parses and has
    the context (or runs in a pod). Lets a batch refuse a bad target before it starts anything."""
    _load(kubeconfig, context, k8s.Configuration())


def connect(kubeconfig: str = "", context: str = "") -> Connection:
    """Open a connection; empty `kubeconfig` means $KUBECONFIG, ~/.kube/config, or in-cluster in a pod."""
    configuration = k8s.Configuration()
    configuration.retries = 0  # one attempt per request; `apierrors.call` retries reads itself
    used_context, source = _load(kubeconfig, context, configuration)
    if configuration.refresh_api_key_hook is not None:
        configuration.refresh_api_key_hook = _at_most_every(REFRESH_EVERY, configuration.refresh_api_key_hook)
    api_client = k8s.ApiClient(configuration)
    conn = Connection(
        api_client=api_client,
        core=k8s.CoreV1Api(api_client),
        apps=k8s.AppsV1Api(api_client),
        custom=k8s.CustomObjectsApi(api_client),
        context=used_context,
        server=str(configuration.host),
        kubeconfig=source,
    )
    _probe(conn)
    return conn


def _at_most_every(seconds: float, hook: Callable[[k8s.Configuration], None]) -> Callable[..., None]:
    last = [-float("inf")]
    current = [hook]

    def refresh(configuration: k8s.Configuration) -> None:
        now = time.monotonic()
        if now - last[0] >= seconds:
            last[0] = now
            current[0](configuration)
            # the client's hook installs itself again on the configuration each time it runs
            # (KubeConfigLoader._set_config): keep the newest one behind this throttle, not in its place
            if configuration.refresh_api_key_hook is not refresh:
                current[0] = configuration.refresh_api_key_hook or current[0]
                configuration.refresh_api_key_hook = refresh

    return refresh


def _probe(conn: Connection) -> None:
    """One GET /version: fails fast with the server URL when it is unreachable or rejects us."""
    try:
        apierrors.call(
            k8s.VersionApi(conn.api_client).get_code,
            verb="get",
            resource="version",
            server=conn.server,
            timeout=PROBE_TIMEOUT,
            _preload_content=False,  # only whether it answers matters, not the version document
        )
    except apierrors.NotFound:
        pass  # an API server without /version still serves the rest
    except apierrors.Forbidden:
        pass  # /version is usually public; a denial here says nothing about the calls we need


def close(conn: Connection) -> None:
    """Release the client's connection pools (optional; a dropped Connection is collected)."""
    conn.api_client.close()
