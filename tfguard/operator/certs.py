"""The webhook's TLS: a CA, a serving certificate, the caBundle of the webhook configurations.

Two Secrets in tfguard's namespace:
  SECRET (kubernetes.io/tls, mounted by the webhook pods)
    tls.crt, tls.key         the serving certificate the webhook presents
    ca.crt                   every CA the API server should trust now (the caBundle)
  SECRET-ca (Opaque, read by the operator alone)
    ca-signing.crt/.key      the CA that signs new serving certificates

A rotation never fails an admission because trust always moves ahead of use:
  1. a new CA joins the bundle (old + new) and the bundle is injected into the webhook configurations;
  2. only after `bundle_propagation` does a serving certificate signed by the new CA replace the old one;
  3. the old CA leaves the bundle when it expires, long after nothing presents a certificate it signed.
A serving certificate renewal by the same CA needs no bundle change at all.

A Secret the operator did not create (no `tfguard.io/managed-by` annotation, but a tls.crt, e.g. from
cert-manager or a user) is never written; its ca.crt is still injected, except into webhook
configurations that cert-manager's cainjector serves (annotation cert-manager.io/inject-ca-from).
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import logging
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tfguard.errors import NotFound
from tfguard.kube import KubeClient, resource_path
from tfguard.operator.settings import OperatorSettings
from tfguard.records import field, record

log = logging.getLogger("tfguard.operator.certs")

MANAGED_BY = "tfguard.io/managed-by"
MANAGER = "tfguard-operator"
CA_ADDED_AT = "tfguard.io/ca-added-at"
CERT_MANAGER_INJECT = "cert-manager.io/inject-ca-from"
WEBHOOK_CONFIGURATIONS = ("validatingwebhookconfigurations", "mutatingwebhookconfigurations")
BACKDATE = dt.timedelta(minutes=5)  # tolerate API servers whose clock is a little behind


# --- certificates --------------------------------------------------------------------------


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def key_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def new_ca(now: dt.datetime, validity: float, name: Optional[str] = None) -> tuple[x509.Certificate, Any]:
    key = new_key()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name or f"tfguard-webhook-ca-{now:%Y%m%d%H%M%S}")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + dt.timedelta(seconds=validity))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def new_serving_cert(
    ca: x509.Certificate, ca_key, dns_names: list[str], ips: list[str], now: dt.datetime, validity: float
) -> tuple[x509.Certificate, Any]:
    return new_leaf_cert(ca, ca_key, dns_names[0] if dns_names else ips[0], now, validity,
                         dns_names=dns_names, ips=ips)


def new_leaf_cert(
    ca: x509.Certificate,
    ca_key,
    common_name: str,
    now: dt.datetime,
    validity: float,
    *,
    dns_names: Sequence[str] = (),
    ips: Sequence[str] = (),
    organizations: Sequence[str] = (),
    server: bool = True,
    client: bool = False,
) -> tuple[x509.Certificate, Any]:
    """A certificate signed by `ca`: for serving (SANs), for clients (O= is the group), or both."""
    key = new_key()
    not_after = min(now + dt.timedelta(seconds=validity), ca.not_valid_after_utc)
    subject = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in organizations]
    subject.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    usages = [ExtendedKeyUsageOID.SERVER_AUTH] * server + [ExtendedKeyUsageOID.CLIENT_AUTH] * client
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name(subject))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, True, False, False, False, False, False, False), critical=True
        )
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.public_key()), critical=False
        )
    )
    sans: list[x509.GeneralName] = [x509.DNSName(n) for n in dns_names]
    sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(ca_key, hashes.SHA256()), key


def load_certs(pem: Optional[bytes]) -> list[x509.Certificate]:
    if not pem:
        return []
    try:
        return x509.load_pem_x509_certificates(pem)
    except ValueError:
        return []


def _signed_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(ca)
        return True
    except Exception:
        return False


def _sans(cert: x509.Certificate) -> set[str]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set()
    return set(ext.get_values_for_type(x509.DNSName)) | {str(ip) for ip in ext.get_values_for_type(x509.IPAddress)}


def _lifetime(cert: x509.Certificate) -> dt.timedelta:
    return cert.not_valid_after_utc - (cert.not_valid_before_utc + BACKDATE)  # as issued, without the backdating


def _renew_due(cert: x509.Certificate, now: dt.datetime, fraction: float) -> bool:
    return cert.not_valid_after_utc - now <= _lifetime(cert) * fraction


# --- what the Secret should hold --------------------------------------------------------------


@record
class CertState:
    """The Secret's data (PEM bytes by key) and annotations, before or after a pass."""

    data: dict[str, bytes] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)

    @property
    def bundle(self) -> bytes:
        return self.data.get("ca.crt", b"")


def plan(state: CertState, settings: OperatorSettings, now: dt.datetime) -> tuple[CertState, list[str]]:
    """One step of the rotation. Returns the wanted state and what changed (empty: nothing to write)."""
    data = dict(state.data)
    notes = dict(state.annotations)
    changed: list[str] = []
    trusted = [c for c in load_certs(data.get("ca.crt")) if c.not_valid_after_utc > now]
    signing = load_certs(data.get("ca-signing.crt"))
    signing_ca = signing[0] if signing and signing[0].not_valid_after_utc > now else None
    signing_key = None
    if signing_ca is not None:
        try:
            signing_key = serialization.load_pem_private_key(data.get("ca-signing.key", b""), None)
        except (ValueError, TypeError):
            signing_ca = None

    if signing_ca is None or _renew_due(signing_ca, now, settings.renew_fraction):
        signing_ca, signing_key = new_ca(now, settings.ca_validity)
        data["ca-signing.crt"], data["ca-signing.key"] = cert_pem(signing_ca), key_pem(signing_key)
        notes[CA_ADDED_AT] = now.strftime("%Y-%m-%dT%H:%M:%SZ")
        changed.append("new CA")
    if not any(c == signing_ca for c in trusted):
        trusted.append(signing_ca)
    bundle = b"".join(cert_pem(c) for c in trusted)
    if bundle != data.get("ca.crt"):
        data["ca.crt"] = bundle
        if "new CA" not in changed:
            changed.append("bundle")

    serving = load_certs(data.get("tls.crt"))
    current = serving[0] if serving else None
    wanted_names = set(settings.dns_names) | set(settings.ip_addresses)
    usable = current is not None and current.not_valid_after_utc > now and any(_signed_by(current, c) for c in trusted)
    reissue = (
        not usable
        or not _signed_by(current, signing_ca)
        or _renew_due(current, now, settings.renew_fraction)
        or _sans(current) != wanted_names
    )
    if reissue and usable and not _signed_by(current, signing_ca):
        added = _parse_time(notes.get(CA_ADDED_AT))
        if added is not None and (now - added).total_seconds() < settings.bundle_propagation:
            reissue = False  # the new CA is not trusted everywhere yet; the current cert still is
    if reissue:
        cert, key = new_serving_cert(
            signing_ca, signing_key, list(settings.dns_names), list(settings.ip_addresses), now, settings.cert_validity
        )
        data["tls.crt"], data["tls.key"] = cert_pem(cert), key_pem(key)
        changed.append("new serving certificate")
    notes[MANAGED_BY] = MANAGER
    if notes != state.annotations and not changed:
        changed.append("annotations")
    return CertState(data, notes), changed


def next_check_in(state: CertState, settings: OperatorSettings, now: dt.datetime) -> float:
    """Seconds until the next pass could change something (never more than cert_check_interval)."""
    wait = settings.cert_check_interval
    for key in ("tls.crt", "ca-signing.crt"):
        for cert in load_certs(state.data.get(key))[:1]:
            lifetime = _lifetime(cert).total_seconds()
            due = (cert.not_valid_after_utc - now).total_seconds() - lifetime * settings.renew_fraction
            wait = min(wait, max(due, 0.0))
    added = _parse_time(state.annotations.get(CA_ADDED_AT))
    if added is not None:
        left = settings.bundle_propagation - (now - added).total_seconds()
        if left > 0:
            wait = min(wait, left)
    return max(wait, 0.2)


def _parse_time(text: Optional[str]) -> Optional[dt.datetime]:
    if not text:
        return None
    try:
        return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)
    except ValueError:
        return None


# --- the API side -----------------------------------------------------------------------------


def is_user_supplied(secret: dict[str, Any]) -> bool:
    meta = secret.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    if annotations.get(MANAGED_BY) == MANAGER:
        return False
    return bool((secret.get("data") or {}).get("tls.crt")) or "cert-manager.io/certificate-name" in annotations


def _decode(secret: dict[str, Any]) -> CertState:
    data = {k: base64.b64decode(v) for k, v in (secret.get("data") or {}).items()}
    return CertState(data, dict((secret.get("metadata") or {}).get("annotations") or {}))


SERVING_KEYS = ("tls.crt", "tls.key", "ca.crt")
SIGNING_KEYS = ("ca-signing.crt", "ca-signing.key")


def ca_secret_name(settings: OperatorSettings) -> str:
    """The CA's key lives in a Secret of its own, which only the operator reads: the webhook pods
    mount the serving Secret and never hold the key that could sign another serving certificate."""
    return f"{settings.cert_secret}-ca"


async def _get_secret(kube: KubeClient, namespace: str, name: str) -> Optional[dict[str, Any]]:
    try:
        return await kube.get(resource_path("", "v1", "secrets", namespace, name))
    except NotFound:
        return None


async def _write_secret(
    kube: KubeClient, namespace: str, name: str, existing: Optional[dict[str, Any]], secret_type: str,
    data: dict[str, Optional[bytes]], annotations: dict[str, str],
) -> None:
    encoded = {k: (base64.b64encode(v).decode() if v is not None else None) for k, v in data.items()}
    if existing is None:
        await kube.create(resource_path("", "v1", "secrets", namespace), {
            "apiVersion": "v1", "kind": "Secret", "type": secret_type,
            "metadata": {"name": name, "namespace": namespace, "annotations": annotations,
                         "labels": {"app.kubernetes.io/part-of": "tfguard"}},
            "data": {k: v for k, v in encoded.items() if v is not None},
        })
        return
    body = {
        # resourceVersion makes the patch conditional: no lost update if anyone else wrote meanwhile
        "metadata": {"annotations": annotations, "resourceVersion": existing["metadata"]["resourceVersion"]},
        "data": encoded,
    }
    await kube.patch(resource_path("", "v1", "secrets", namespace, name), body)


async def reconcile_certificates(
    kube: KubeClient, settings: OperatorSettings, now: Optional[dt.datetime] = None,
    observe: Optional[Callable[[dict[str, bytes]], None]] = None,
) -> float:
    """One pass: rotate if due, inject the bundle, write the local files. Returns seconds to the next
    pass. `observe` is handed the certificates the webhook serves with (for their expiry metric)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    ns = settings.namespace
    secret = await _get_secret(kube, ns, settings.cert_secret)
    if secret is not None and is_user_supplied(secret):
        state = _decode(secret)
        await inject_bundle(kube, settings, state.bundle)
        write_files(settings.webhook_cert_dir, state)
        if observe is not None:
            observe(state.data)
        return settings.cert_check_interval

    ca_secret = await _get_secret(kube, ns, ca_secret_name(settings))
    state = _decode(secret) if secret else CertState()
    if ca_secret is not None:
        state.data.update({k: v for k, v in _decode(ca_secret).data.items() if k in SIGNING_KEYS})
    wanted, changed = plan(state, settings, now)
    if ca_secret is None or any(wanted.data.get(k) != _decode(ca_secret).data.get(k) for k in SIGNING_KEYS):
        # The CA first: a serving certificate is never stored before the key that signed it.
        await _write_secret(kube, ns, ca_secret_name(settings), ca_secret, "Opaque",
                            {k: wanted.data[k] for k in SIGNING_KEYS}, {MANAGED_BY: MANAGER})
    stray = [k for k in (secret or {}).get("data", {}) if k not in SERVING_KEYS]  # e.g. a CA key from before
    if changed or secret is None or stray:
        data: dict[str, Optional[bytes]] = {k: wanted.data[k] for k in SERVING_KEYS}
        data.update({k: None for k in stray})
        await _write_secret(kube, ns, settings.cert_secret, secret, "kubernetes.io/tls", data, wanted.annotations)
        log.info("webhook certificate: %s", ", ".join(changed or ["moved the CA key to its own Secret"]))
    # Trust first, then use: the bundle reaches the API server before a certificate it must verify.
    await inject_bundle(kube, settings, wanted.bundle)
    write_files(settings.webhook_cert_dir, wanted)
    if observe is not None:
        observe(wanted.data)
    return next_check_in(wanted, settings, now)


async def inject_bundle(kube: KubeClient, settings: OperatorSettings, bundle: bytes) -> int:
    """Write the caBundle into every labelled webhook configuration that lacks it; returns patches made."""
    if not bundle:
        return 0
    encoded = base64.b64encode(bundle).decode()
    patched = 0
    for plural in WEBHOOK_CONFIGURATIONS:
        listed = await kube.list(
            resource_path("admissionregistration.k8s.io", "v1", plural), labelSelector=settings.webhook_selector
        )
        for config in listed.get("items") or []:
            meta = config.get("metadata") or {}
            if CERT_MANAGER_INJECT in (meta.get("annotations") or {}):
                continue
            ops = []
            for i, webhook in enumerate(config.get("webhooks") or []):
                if (webhook.get("clientConfig") or {}).get("caBundle") != encoded:
                    ops += [
                        {"op": "test", "path": f"/webhooks/{i}/name", "value": webhook.get("name")},
                        {"op": "add", "path": f"/webhooks/{i}/clientConfig/caBundle", "value": encoded},
                    ]
            if ops:
                await kube.patch(
                    resource_path("admissionregistration.k8s.io", "v1", plural, name=meta["name"]), ops, "json"
                )
                patched += 1
                log.info("injected the CA bundle into %s %s", plural, meta["name"])
    return patched


def write_files(directory: Optional[str], state: CertState) -> None:
    """tls.key, then tls.crt, then ca.crt, each replaced atomically and only when it changed."""
    if not directory:
        return
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    for name in ("tls.key", "tls.crt", "ca.crt"):
        content = state.data.get(name)
        if not content:
            continue
        file = target / name
        if file.exists() and file.read_bytes() == content:
            continue
        fd, tmp = tempfile.mkstemp(dir=target, prefix=f".{name}.")
        with os.fdopen(fd, "wb") as out:
            out.write(content)
        os.chmod(tmp, 0o600 if name.endswith(".key") else 0o644)
        os.replace(tmp, file)
