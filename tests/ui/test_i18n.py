"""Every text key the page or the session can ask for exists in ja and en; the main path
exists in all seven languages; placeholders agree; every state has a screen."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from documents.model import CertificateType, JuminhyoOption
from host import i18n
from host.session import events as E
from host.session.states import State

ROOT = Path(__file__).resolve().parents[2]
APP_JS = (ROOT / "host" / "ui" / "static" / "app.js").read_text(encoding="utf-8")
SESSION_SRC = "\n".join(
    (ROOT / "host" / "session" / n).read_text(encoding="utf-8") for n in ("table.py", "machine.py")
)
UI_SRC = "\n".join((ROOT / "host" / "ui" / n).read_text(encoding="utf-8") for n in ("touch.py",))


def literal_keys() -> set[str]:
    """Keys written literally in app.js: t("k"), btn("k", ...), spinner("k"), pinPad("k")."""
    keys = set(re.findall(r"""\b(?:t|btn|spinner|pinPad)\(\s*"([a-z_]+\.[a-z_0-9.]+)""", APP_JS))
    keys |= set(re.findall(r'"(progress\.[a-z_]+)"', APP_JS))
    keys |= set(re.findall(r'"(error\.[a-z_]+)"', UI_SRC))
    return keys


def session_keys() -> set[str]:
    """Keys built from what the session can say: notices, input errors, enums."""
    notices = set(re.findall(r'notice\("([a-z_]+)"\)', SESSION_SRC))
    notices |= set(re.findall(r'notice="([a-z_]+)"', SESSION_SRC))
    notices |= set(re.findall(r'key = "([a-z_]+)"', SESSION_SRC))
    notices |= {f"card_{r.value}" for r in E.CardRejection}
    notices |= {f"refusal_{r.value}" for r in E.RefusalReason}
    errors = set(re.findall(r'reject_input\("([a-z_]+)"\)', SESSION_SRC))
    keys = {f"notice.{n}" for n in notices} | {f"error.{e}" for e in errors}
    keys |= {f"cert.{c.value}" for c in CertificateType}
    keys |= {f"option.{o.value}" for o in JuminhyoOption}
    keys |= {f"device.{d.value}" for d in E.Device}
    keys |= {f"item.{i}" for i in ("card", "pages", "change", "receipt")}
    return keys


USED = literal_keys() | session_keys()


def test_the_key_scan_finds_what_it_should() -> None:
    # Guards the scan itself: if the regexes broke, the tests below would pass vacuously.
    assert {"pin.title", "btn.cancel", "fee.total", "progress.center"} <= USED
    assert {"notice.card_blocked", "notice.out_of_service", "error.copies_out_of_range"} <= USED
    assert {"notice.refusal_under_15", "error.pin_incomplete"} <= USED
    assert len(USED) > 100


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_every_used_key_exists_in_japanese_and_english(lang: str) -> None:
    missing = sorted(USED - set(i18n.load(lang)))
    assert missing == []


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_main_path_keys_exist_in_every_language(lang: str) -> None:
    main = {k for k in USED | set(i18n.load("ja")) if i18n.is_main_path(k)}
    assert len(main) > 60
    missing = sorted(main - set(i18n.load(lang)))
    assert missing == []


def test_japanese_and_english_are_complete_and_equal() -> None:
    assert set(i18n.load("ja")) == set(i18n.load("en"))


def _fields(template: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(template) if f}


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_placeholders_agree_with_japanese(lang: str) -> None:
    ja = i18n.load("ja")
    for key, text in i18n.load(lang).items():
        assert key in ja, f"{lang} has a key Japanese lacks: {key}"
        assert _fields(text) == _fields(ja[key]), (lang, key)
        assert text.strip(), (lang, key)


def test_fallback_fills_gaps_with_english() -> None:
    vi = i18n.catalog("vi")
    assert vi["notice.card_blocked"] == i18n.load("en")["notice.card_blocked"]
    assert vi["btn.cancel"] == "Hủy"
    assert i18n.text("en", "pin.tries_left", n=2) == "2 tries left"
    with pytest.raises(i18n.UnknownLanguage):
        i18n.load("xx")


def test_every_state_has_a_screen() -> None:
    screens = set(re.findall(r"^\s{2}([a-z_]+): \(", APP_JS, re.M))
    screens |= set(re.findall(r"SCREENS\.([a-z_]+) =", APP_JS))
    assert {s.value for s in State} <= screens


def test_no_user_text_in_the_page_code() -> None:
    # Text nodes in index.html/app.js would bypass the catalogs: no CJK or kana in code.
    html = (ROOT / "host" / "ui" / "static" / "index.html").read_text(encoding="utf-8")
    for source in (APP_JS, html):
        assert not re.search(r"[\u3040-\u30ff\u4e00-\u9fff\uac00-\ud7af]", source)
