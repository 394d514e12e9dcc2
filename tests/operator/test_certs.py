"""The certificate rotation plan: trust always moves ahead of use, so no admission fails."""

from __future__ import annotations

import datetime as dt
import ssl
import socket
import threading
from pathlib import Path

from cryptography import x509

from tfguard.operator.certs import CertState, load_certs, plan, write_files, _signed_by
from tfguard.operator.settings import OperatorSettings

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
SETTINGS = OperatorSettings(
    namespace="tfguard", ca_validity=300, cert_validity=90, renew_fraction=1 / 3, bundle_propagation=10
)


def advance(state: CertState, seconds: float) -> tuple[CertState, list[str]]:
    return plan(state, SETTINGS, T0 + dt.timedelta(seconds=seconds))


def serving_trusted(state: CertState) -> bool:
    cert = load_certs(state.data["tls.crt"])[0]
    return any(_signed_by(cert, ca) for ca in load_certs(state.data["ca.crt"]))


def test_a_fresh_install_gets_a_ca_and_a_serving_certificate_for_the_service_and_localhost():
    state, changed = advance(CertState(), 0)
    assert "new CA" in changed and "new serving certificate" in changed
    cert = load_certs(state.data["tls.crt"])[0]
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "tfguard-webhook.tfguard.svc" in names.get_values_for_type(x509.DNSName)
    assert serving_trusted(state)


def test_nothing_changes_while_nothing_is_due():
    state, _ = advance(CertState(), 0)
    again, changed = advance(state, 5)
    assert changed == [] and again.data == state.data


def test_serving_certificate_renewed_by_the_same_ca_before_expiry():
    state, _ = advance(CertState(), 0)
    renewed, changed = advance(state, 65)  # 90 s lifetime (+5 min backdate), renew in the last third
    assert changed == ["new serving certificate"]
    assert renewed.data["ca.crt"] == state.data["ca.crt"]
    assert serving_trusted(renewed)


def test_ca_rotation_adds_the_new_ca_first_and_switches_the_certificate_only_after_propagation():
    state, _ = advance(CertState(), 0)
    steps = [state]
    # Walk through a full CA lifetime in 1 s steps; at every step the certificate in use must be
    # trusted by the bundle in use, by the bundle before it (API servers still on the old one),
    # and the bundle of the step before must trust the new certificate's CA only after propagation.
    for second in range(1, 700):
        nxt, changed = advance(steps[-1], second)
        prev = steps[-1]
        if nxt.data.get("tls.crt") != prev.data.get("tls.crt"):
            cert = load_certs(nxt.data["tls.crt"])[0]
            assert any(_signed_by(cert, ca) for ca in load_certs(prev.data["ca.crt"])), (
                f"at {second}s a certificate is served that the previous bundle does not trust"
            )
        assert serving_trusted(nxt)
        steps.append(nxt)
    cas = {c.serial_number for s in steps for c in load_certs(s.data["ca-signing.crt"])}
    assert len(cas) >= 2, "the CA never rotated"
    bundles = [len(load_certs(s.data["ca.crt"])) for s in steps]
    assert max(bundles) == 2 and bundles[-1] >= 1


def test_local_files_are_written_atomically_and_serve_tls(tmp_path: Path):
    # Real time for a real handshake.
    state, _ = plan(CertState(), OperatorSettings(), dt.datetime.now(dt.timezone.utc))
    write_files(str(tmp_path), state)
    assert {p.name for p in tmp_path.iterdir()} == {"tls.crt", "tls.key", "ca.crt"}
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(tmp_path / "tls.crt", tmp_path / "tls.key")
    client_ctx = ssl.create_default_context(cafile=str(tmp_path / "ca.crt"))
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve():
        conn, _ = listener.accept()
        with server_ctx.wrap_socket(conn, server_side=True) as tls:
            tls.sendall(b"ok")

    thread = threading.Thread(target=serve)
    thread.start()
    with socket.create_connection(("127.0.0.1", port)) as raw:
        with client_ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            assert tls.recv(2) == b"ok"
    thread.join()
    listener.close()
