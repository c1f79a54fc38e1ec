"""Message catalogs: every text the screen shows, per language, as flat JSON key -> text.

Japanese is first and complete, English complete; Chinese (简体), Korean, Portuguese, Spanish
and Vietnamese cover at least the main path (the keys under :data:`MAIN_PATH_PREFIXES`) and
fall back to English, then Japanese, for the rest. Placeholders are ``{name}``.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

HERE = Path(__file__).resolve().parent
LANGUAGES = ("ja", "en", "zh", "ko", "pt", "es", "vi")
FALLBACK = ("en", "ja")

# Keys of the citizen's main path, idle to thanks: required in all seven languages.
MAIN_PATH_PREFIXES = (
    "lang.",
    "app.",
    "btn.",
    "idle.",
    "language.",
    "card.",
    "pin.",
    "progress.",
    "certificate.",
    "cert.",
    "subject.",
    "options.",
    "option.",
    "warning.",
    "year.",
    "copies.",
    "fee.",
    "order.",
    "payment.",
    "printing.",
    "collect.",
    "item.",
    "thanks.",
)


class UnknownLanguage(KeyError):
    pass


@cache
def load(lang: str) -> dict[str, str]:
    if lang not in LANGUAGES:
        raise UnknownLanguage(lang)
    data: dict[str, str] = json.loads((HERE / f"{lang}.json").read_text(encoding="utf-8"))
    return data


def catalog(lang: str) -> dict[str, str]:
    """The language's texts with English, then Japanese, filling any gap."""
    merged: dict[str, str] = {}
    for name in (*reversed(FALLBACK), lang):
        merged.update(load(name))
    return merged


def is_main_path(key: str) -> bool:
    return key.startswith(MAIN_PATH_PREFIXES)


def text(lang: str, key: str, **params: object) -> str:
    template = catalog(lang)[key]
    return template.format(**params) if params else template
