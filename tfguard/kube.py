"""A small async Kubernetes API client, shared by the webhook and the operator.

Built on aiohttp: kopf already depends on it, so the operator pays nothing extra and the webhook
needs no second HTTP stack. The requests are ours; reading a user's kubeconfig is not: `load_kubeconfig` hands that to the
`kubernetes` client library's loader (exec plugins, auth providers, merged files), imported only
then. In a cluster (`load_incluster`) nothing of it is imported.

    config = load_config()                       # $KUBECONFIG, in-cluster, else ~/.kube/config
    async with KubeClient(config) as kube:
        path = resource_path("tfguard.io", "v1alpha1", "imagestacks")
        stacks = await kube.list(path)
        async for event in kube.watch(path):     # LISTED, then ADDED / MODIFIED / DELETED
            ...

Paths are API paths such as "/api/v1/namespaces/default/pods/web-0" (see `resource_path`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import ssl
import tempfile
import time
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Optional
from urllib.parse import urlencode

import aiohttp
import yaml

from tfguard.errors import ApiError, ConfigError, Gone  # noqa: F401  (re-exported for callers)
from tfguard.records import field, record

log = logging.getLogger("tfguard.kube")

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")

PATCH_CONTENT_TYPES = {
    "merge": "application/merge-patch+json",
    "json": "application/json-patch+json",
    "strategic": "application/strategic-merge-patch+json",
    "apply": "application/apply-patch+yaml",
}


@record
class KubeConfig:
    server: str
    ca_data: Optional[str] = None  # PEM
    insecure: bool = False
    client_cert_data: Optional[bytes] = None  # PEM
    client_key_data: Optional[bytes] = None  # PEM
    token: Optional[str] = None
    token_file: Optional[str] = None  # re-read now and then: bound service-account tokens rotate
    namespace: str = "default"
    scheme: str = "Bearer"  # of the Authorization header: Bearer, or Basic for a username/password user
    # A fresh token from an exec plugin or auth provider (it runs again only once the old one expired).
    refresh: Optional[Callable[[], Optional[str]]] = field(default=None, repr=False)
    _token_read_at: float = field(default=0.0, repr=False)

    def ssl_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context()
        if self.insecure:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        elif self.ca_data:
            ctx.load_verify_locations(cadata=self.ca_data)
        if self.client_cert_data and self.client_key_data:
            # load_cert_chain only takes files: write them to a private temp dir, load, delete.
            with tempfile.TemporaryDirectory(prefix="tfguard-kube-") as tmp:
                cert, key = Path(tmp, "cert.pem"), Path(tmp, "key.pem")
                cert.write_bytes(self.client_cert_data)
                key.touch(mode=0o600)
                key.write_bytes(self.client_key_data)
                ctx.load_cert_chain(str(cert), str(key))
        return ctx

    def bearer_token(self) -> Optional[str]:
        if self.refresh is not None:
            self.token = self.refresh() or self.token
        elif self.token_file and time.monotonic() - self._token_read_at > 60:
            self.token = Path(self.token_file).read_text().strip()
            self._token_read_at = time.monotonic()
        return self.token


def load_kubeconfig(path: "str | os.PathLike | None" = None, context: Optional[str] = None) -> KubeConfig:
    """A user's kubeconfig, read by the kubernetes client library's loader.

    `path` may list several files (`a:b`, like $KUBECONFIG; default $KUBECONFIG, else ~/.kube/config).
    Everything kubectl users have works: client certificates and tokens (inline or in files), exec
    plugins (cloud CLIs: their token is fetched again when it expires), auth providers (oidc, gcp,
    azure), several files merged, contexts. The library is imported here only: the webhook in a
    cluster reads its service account (`load_incluster`) and never pays for it.
    """
    try:
        from kubernetes.client import Configuration
        from kubernetes.config import ConfigException, kube_config
    except ImportError:
        raise ConfigError(
            "reading a kubeconfig needs the kubernetes package: pip install 'tfguard[kubeconfig]'"
        ) from None
    files = os.fspath(path) if path else (os.environ.get("KUBECONFIG") or "~/.kube/config")
    paths = [os.path.expanduser(p) for p in files.split(os.pathsep) if p]
    present = [p for p in paths if os.path.exists(p)]
    if not present:
        raise ConfigError(f"{files}: no such kubeconfig file")
    captured = _Captured()
    logging.getLogger().addHandler(captured)  # the library logs an exec plugin's failure instead of raising
    try:
        merged = kube_config.KubeConfigMerger(os.pathsep.join(present))
        if merged.config is None:
            raise ConfigError(f"{files}: no kubeconfig found")
        names = [str(c.value.get("name")) for c in merged.config.value.get("contexts") or []]
        # kubectl takes current-context from the first file that sets it; the library from the last.
        wanted = context or next((d.get("current-context") for d in map(merged.config_files.get, merged.paths)
                                  if isinstance(d, dict) and d.get("current-context")), None)
        if not wanted:
            raise ConfigError(f"{files}: no current-context and no context given")
        if wanted not in names:
            raise ConfigError(f"{files}: no context named {wanted!r} (there are: {', '.join(names) or 'none'})")
        loader = kube_config.KubeConfigLoader(config_dict=merged.config, active_context=wanted, config_base_path=None)
        lib = type.__call__(Configuration)  # a bare Configuration, not a copy of the process-wide default
        loader.load_and_set(lib)
    except ConfigException as exc:
        raise ConfigError(f"{files}: {exc}") from None
    finally:
        logging.getLogger().removeHandler(captured)
    user_node = loader._user  # which kind of credentials the context names (a ConfigNode, or None)
    user = dict(user_node.value) if user_node is not None else {}
    user_file = getattr(user_node, "path", None)
    scheme, token = _authorization(lib)
    cert, key = _read(lib.cert_file), _read(lib.key_file)
    if ("exec" in user or "auth-provider" in user) and not token and not cert:
        why = "; ".join(captured.messages) or "it produced no token and no client certificate"
        kind = "exec plugin" if "exec" in user else "auth provider"
        raise ConfigError(f"{files}: context {wanted!r}: the {kind} of user {(loader.current_context.get('context') or {}).get('user')!r} failed: {why}")
    token_file = None
    if user.get("tokenFile") and not user.get("token"):  # re-read now and then, as the library does not
        base = os.path.dirname(os.path.abspath(user_file)) if user_file else os.getcwd()
        token_file = os.path.join(base, os.path.expanduser(user["tokenFile"]))
        token = token.strip() if token else token
    ca = _read(lib.ssl_ca_cert)
    namespace = (loader.current_context.get("context") or {}).get("namespace") or "default"
    config = KubeConfig(
        server=str(lib.host).rstrip("/"),
        ca_data=ca.decode() if ca else None,
        insecure=not lib.verify_ssl,
        client_cert_data=cert,
        client_key_data=key,
        token=token,
        token_file=token_file,
        namespace=namespace,
        scheme=scheme or "Bearer",
    )
    hook = lib.refresh_api_key_hook
    if hook is not None and ("exec" in user or "auth-provider" in user):

        def refresh() -> Optional[str]:
            hook(lib)  # runs the plugin again only once the token has expired
            return _authorization(lib)[1]

        config.refresh = refresh
    return config


class _Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage()[:300])


def _authorization(lib) -> tuple[Optional[str], Optional[str]]:
    """("Bearer", token) from the library's Configuration (it keeps the whole header value)."""
    value = next((v for v in (lib.api_key or {}).values() if v), None)
    if not value:
        return None, None
    scheme, _, credentials = str(value).partition(" ")
    return (scheme, credentials) if credentials else ("Bearer", scheme)


def _read(path: Optional[str]) -> Optional[bytes]:
    return Path(path).read_bytes() if path else None


def load_incluster(sa_dir: Path = SERVICE_ACCOUNT_DIR) -> KubeConfig:
    host, port = os.environ.get("KUBERNETES_SERVICE_HOST"), os.environ.get("KUBERNETES_SERVICE_PORT")
    if not host or not port or not (sa_dir / "token").exists():
        raise ConfigError("not running in a cluster (no KUBERNETES_SERVICE_HOST or service-account token)")
    if ":" in host:
        host = f"[{host}]"
    namespace_file = sa_dir / "namespace"
    return KubeConfig(
        server=f"https://{host}:{port}",
        ca_data=(sa_dir / "ca.crt").read_text(),
        token_file=str(sa_dir / "token"),
        namespace=namespace_file.read_text().strip() if namespace_file.exists() else "default",
    )


def load_config(kubeconfig: Optional[str] = None, context: Optional[str] = None) -> KubeConfig:
    """An explicit kubeconfig, else $KUBECONFIG (every file in it, merged as kubectl merges them), else
    in-cluster, else ~/.kube/config.

    Raises ConfigError only: a missing file, broken YAML, a half-written entry or a failing exec plugin
    all say why."""
    try:
        return _load_config(kubeconfig, context)
    except ConfigError:
        raise
    except (OSError, ValueError, KeyError, TypeError, AttributeError, yaml.YAMLError) as exc:
        where = kubeconfig or os.environ.get("KUBECONFIG") or "the cluster configuration"
        raise ConfigError(f"{where}: {type(exc).__name__}: {exc}") from None


def _load_config(kubeconfig: Optional[str], context: Optional[str]) -> KubeConfig:
    if kubeconfig:
        return load_kubeconfig(kubeconfig, context)
    if os.environ.get("KUBECONFIG", "").strip(os.pathsep):
        return load_kubeconfig(os.environ["KUBECONFIG"], context)
    if context is None:
        try:
            return load_incluster()
        except ConfigError:
            pass
    home = Path.home() / ".kube" / "config"
    if home.exists():
        return load_kubeconfig(home, context)
    raise ConfigError("no kubeconfig ($KUBECONFIG, ~/.kube/config) and not running in a cluster")


def resource_path(
    group: str,
    version: str,
    plural: str,
    namespace: Optional[str] = None,
    name: Optional[str] = None,
    subresource: Optional[str] = None,
) -> str:
    """resource_path("apps", "v1", "deployments", "ns", "web") -> /apis/apps/v1/namespaces/ns/deployments/web"""
    parts = ["/api/v1" if group in ("", "core") else f"/apis/{group}/{version}"]
    if namespace:
        parts.append(f"namespaces/{namespace}")
    parts.append(plural)
    if name:
        parts.append(name)
        if subresource:
            parts.append(subresource)
    return "/".join(parts)


@record
class WatchEvent:
    # LISTED (a fresh full list: `object` is the List, replace what you hold), ADDED, MODIFIED, DELETED
    type: str
    object: dict[str, Any]


class KubeClient:
    def __init__(self, config: KubeConfig, timeout: float = 30.0):
        self.config = config
        self.timeout = timeout
        self._session: Optional[aiohttp.ClientSession] = None

    async def __aenter__(self) -> "KubeClient":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _session_for_loop(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            ssl_ctx = self.config.ssl_context() if self.config.server.startswith("https") else None
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=ssl_ctx if ssl_ctx is not None else False),
                timeout=aiohttp.ClientTimeout(total=None, connect=10, sock_read=None),
            )
        return self._session

    def _headers(self, content_type: Optional[str] = None) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        token = self.config.bearer_token()
        if token:
            headers["Authorization"] = f"{self.config.scheme} {token}"
        if content_type:
            headers["Content-Type"] = content_type
        return headers

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Optional[dict[str, Any]] = None,
        body: Any = None,
        content_type: str = "application/json",
        timeout: Optional[float] = None,
    ) -> Any:
        url = self.config.server + path
        if params:
            url += "?" + urlencode({k: _param(v) for k, v in params.items() if v is not None})
        data = None
        if body is not None:
            data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        session = self._session_for_loop()
        async with session.request(
            method,
            url,
            data=data,
            headers=self._headers(content_type if body is not None else None),
            timeout=aiohttp.ClientTimeout(total=timeout or self.timeout),
        ) as resp:
            text = await resp.text()
            payload = _json_or_text(text)
            if resp.status >= 400:
                raise ApiError.from_response(resp.status, payload, method, path)
            return payload

    async def get(self, path: str, **params: Any) -> dict[str, Any]:
        return await self.request("GET", path, params=params)

    async def list(self, path: str, **params: Any) -> dict[str, Any]:
        """params: labelSelector, fieldSelector, limit, resourceVersion, ..."""
        return await self.request("GET", path, params=params)

    async def create(self, path: str, body: dict[str, Any], **params: Any) -> dict[str, Any]:
        return await self.request("POST", path, params=params, body=body)

    async def patch(
        self,
        path: str,
        body: Any,
        patch_type: str = "merge",
        *,
        field_manager: Optional[str] = None,
        force: Optional[bool] = None,
        **params: Any,
    ) -> dict[str, Any]:
        """patch_type: merge | json | strategic | apply (server-side apply needs field_manager)."""
        if patch_type not in PATCH_CONTENT_TYPES:
            raise ValueError(f"patch_type must be one of {sorted(PATCH_CONTENT_TYPES)}, not {patch_type!r}")
        if patch_type == "apply" and not field_manager:
            raise ValueError("server-side apply needs a field_manager")
        params.update(fieldManager=field_manager, force=force)
        return await self.request(
            "PATCH", path, params=params, body=body, content_type=PATCH_CONTENT_TYPES[patch_type]
        )

    async def delete(self, path: str, **params: Any) -> dict[str, Any]:
        return await self.request("DELETE", path, params=params)

    async def watch(
        self,
        path: str,
        *,
        label_selector: Optional[str] = None,
        field_selector: Optional[str] = None,
        timeout_seconds: int = 300,
        backoff_max: float = 30.0,
    ) -> AsyncIterator[WatchEvent]:
        """List, then watch from the list's resourceVersion; forever.

        Every (re-)list is yielded as one LISTED event holding the whole List: a consumer replaces
        its state with it. Re-lists on 410 Gone; backs off (with jitter) on errors.
        """
        selectors = {"labelSelector": label_selector, "fieldSelector": field_selector}
        backoff = 0.5
        while True:
            try:
                listed = await self.list(path, **selectors)
                backoff = 0.5
                yield WatchEvent("LISTED", listed)
                version = listed_version(listed)
                gone = False
                while not gone:  # each watch request ends after timeout_seconds; resume from the last version
                    stream = self._watch_once(path, version, selectors, timeout_seconds)
                    try:
                        async for event in stream:
                            kind, obj = event.get("type"), event.get("object") or {}
                            if kind == "ERROR":
                                if obj.get("code") == 410:
                                    gone = True
                                    break
                                raise ApiError.from_response(obj.get("code") or 500, obj, "WATCH", path)
                            version = (obj.get("metadata") or {}).get("resourceVersion") or version
                            if kind != "BOOKMARK":
                                yield WatchEvent(kind, obj)
                    finally:
                        await stream.aclose()
                log.info("watch %s: resourceVersion too old, listing again", path)
                continue
            except asyncio.CancelledError:
                raise
            except Gone:
                continue
            except ApiError as exc:
                log.warning("watch %s failed: %s; retrying in %.1fs", path, exc, backoff)
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError, ValueError) as exc:
                log.warning("watch %s failed: %r; retrying in %.1fs", path, exc, backoff)
            await asyncio.sleep(backoff * (0.5 + random.random()))
            backoff = min(backoff * 2, backoff_max)

    async def _watch_once(
        self, path: str, version: Optional[str], selectors: dict, timeout_seconds: int
    ) -> AsyncIterator[dict[str, Any]]:
        params = {
            "watch": "true",
            "allowWatchBookmarks": "true",
            "resourceVersion": version,
            "timeoutSeconds": timeout_seconds,
            **selectors,
        }
        url = self.config.server + path + "?" + urlencode({k: v for k, v in params.items() if v is not None})
        session = self._session_for_loop()
        async with session.get(
            url,
            headers=self._headers(),
            timeout=aiohttp.ClientTimeout(total=None, connect=10, sock_read=timeout_seconds + 30),
        ) as resp:
            if resp.status >= 400:
                raise ApiError.from_response(resp.status, _json_or_text(await resp.text()), "WATCH", path)
            # One JSON document per line; objects can be larger than aiohttp's line limit.
            buffer = b""
            async for chunk in resp.content.iter_any():
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if line.strip():
                        yield json.loads(line)
            if buffer.strip():
                yield json.loads(buffer)


def listed_version(listed: dict[str, Any]) -> Optional[str]:
    return (listed.get("metadata") or {}).get("resourceVersion")


def _param(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text) if text else {}
    except ValueError:
        return text
