"""The virtual card's personas: which card the simulated citizen places on the reader."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Persona:
    name: str
    description: str
    jpki: bool = True  # False: SELECT of the JPKI AP answers 6A 82
    has_certificate: bool = True
    initial_tries: int = 3  # PIN tries on a fresh (or reset) card
    expired: bool = False
    revoked: bool = False


PERSONAS: dict[str, Persona] = {
    p.name: p
    for p in (
        Persona("valid", "a My Number card with a valid user-authentication certificate"),
        Persona("one-try-left", "valid certificate, one PIN try left", initial_tries=1),
        Persona("blocked", "valid certificate, PIN blocked (no tries left)", initial_tries=0),
        Persona("expired", "the user-authentication certificate has expired", expired=True),
        Persona("revoked", "the certificate is on the test CA's CRL", revoked=True),
        Persona(
            "no-cert", "JPKI AP without a user-authentication certificate", has_certificate=False
        ),
        Persona(
            "not-jpki", "a card without the JPKI application", jpki=False, has_certificate=False
        ),
    )
}


def persona(name: str) -> Persona:
    try:
        return PERSONAS[name]
    except KeyError:
        raise ValueError(f"unknown persona {name!r}; personas: {', '.join(PERSONAS)}") from None
