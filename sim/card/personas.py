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


RESIDENT_CARDS = {
    "foreign-resident": "a foreign resident (nationality and residence options)",
    "town-resident": "a resident of the second municipality (other fee, seal, two years)",
    "turning-15": "a resident who turns 15 today (served)",
    "under-15": "a 14-year-old (refused: under 15)",
    "moved-out": "a resident who moved out (refused)",
    "move-out-filed": "a resident who filed a move-out (refused)",
    "support-measures": "a resident under support measures (refused)",
    "deceased": "a deceased resident's card (refused)",
    "character-limit": "an address over the character limit (refused)",
    "moved-in-today": "a resident who moved in today (refused)",
    "gaiji-pending": "a non-standard character being registered (refused)",
    "not-registered": "a person not registered in the municipality (refused)",
}

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
        # Valid cards of demo residents (center/demo.py) whom the center serves differently:
        # `kofu sim` registers each for its resident (sim/whole.py PERSONA_RESIDENTS).
        *(Persona(name, f"valid certificate; {what}") for name, what in RESIDENT_CARDS.items()),
    )
}


def persona(name: str) -> Persona:
    try:
        return PERSONAS[name]
    except KeyError:
        raise ValueError(f"unknown persona {name!r}; personas: {', '.join(PERSONAS)}") from None
