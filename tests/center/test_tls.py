"""Mutual TLS: the kiosk's identity is its client certificate, checked at the handshake."""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx
import pytest

from center.pki import CenterPki, issue, load_pair, new_ca, write_pair
from center.simkiosk import client, tls_context

from .conftest import Live


def test_no_client_certificate_refused_at_tls(live: Live) -> None:
    with client(live.url, live.state, kiosk=None) as http, pytest.raises(httpx.TransportError):
        http.get("/v1/health")


def test_certificate_from_another_ca_refused_at_tls(live: Live, tmp_path: Path) -> None:
    ca_key, ca = new_ca("someone else's kiosk CA")
    key, cert = issue(ca_key, ca, "demo-kiosk", client=True)  # same name, wrong CA
    write_pair(tmp_path / "rogue", key, cert)
    ctx = tls_context(live.state, kiosk=None)
    ctx.load_cert_chain(str(tmp_path / "rogue.pem"), str(tmp_path / "rogue.key"))
    with httpx.Client(base_url=live.url, verify=ctx) as http, pytest.raises(httpx.TransportError):
        http.get("/v1/health")


def test_unregistered_kiosk_of_the_right_ca_refused(live: Live, tmp_path: Path) -> None:
    ca_key, ca = load_pair(CenterPki(live.state).kiosk_ca)
    key, cert = issue(ca_key, ca, "never-registered", client=True)
    write_pair(tmp_path / "k", key, cert)
    ctx = tls_context(live.state, kiosk=None)
    ctx.load_cert_chain(str(tmp_path / "k.pem"), str(tmp_path / "k.key"))
    with httpx.Client(base_url=live.url, verify=ctx) as http:
        resp = http.post("/v1/challenge")
    assert resp.status_code == 403 and resp.json()["error"] == "kiosk_unknown"


def test_registered_kiosk_is_served(live: Live) -> None:
    with client(live.url, live.state) as http:
        assert http.get("/v1/health").json() == {"status": "ok"}


def test_kiosk_checks_the_center(live: Live) -> None:
    """The kiosk side verifies the server too: a client trusting another CA refuses it."""
    _, other = new_ca("not the center CA")
    from center.pki import cert_pem

    ctx = ssl.create_default_context(cadata=cert_pem(other).decode())
    with httpx.Client(base_url=live.url, verify=ctx) as http, pytest.raises(httpx.ConnectError):
        http.get("/v1/health")
