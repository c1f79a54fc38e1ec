"""Which PKCS#11 token holds the center's keys: the embedded SoftHSM in the state directory
unless a module is configured (``--pkcs11-module``, ``--pkcs11-token``, ``--pkcs11-pin-file``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from center import softhsm
from center.config import CenterConfig
from center.keystore import KeyStore, TokenSettings


def add_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--pkcs11-module",
        default="",
        help="PKCS#11 library of the HSM holding the signing keys (default: the embedded "
        "SoftHSM token in the state directory)",
    )
    p.add_argument("--pkcs11-token", default="", help="token label in that module")
    p.add_argument("--pkcs11-pin-file", default="", help="file holding the token's user PIN")


def settings_for(state: Path, module: str, token: str, pin_file: str) -> TokenSettings:
    if not module:
        return softhsm.settings(state)
    if not (token and pin_file):
        raise ValueError("--pkcs11-module needs --pkcs11-token and --pkcs11-pin-file")
    return TokenSettings(module, token, Path(pin_file).resolve())


def token_settings(config: CenterConfig) -> TokenSettings:
    return settings_for(
        config.state, config.pkcs11_module, config.pkcs11_token, config.pkcs11_pin_file
    )


def open_keystore(config: CenterConfig) -> KeyStore:
    """For a process of a prepared center (a worker, the admin command)."""
    return KeyStore(token_settings(config))


def prepare_keystore(settings: TokenSettings, state: Path) -> KeyStore:
    """First start: the embedded token set up if it is the one, the data keys made."""
    if settings.softhsm_conf is not None:
        softhsm.ensure(state)
    keys = KeyStore(settings)
    keys.ensure_data_keys()
    return keys
