"""D6 on the whole sim: a city's offering.toml applied to the running center
(`kofu center admin apply`) is what the kiosk's screen offers and charges — the fee the
center sets, no type the city does not offer, no 住民票 item it refuses, its copies limit."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import Kiosk, SimProcess, kofu, needs_sim

pytestmark = needs_sim

CITY = "999001"  # center/demo.py 桜ヶ丘市: the "valid" card's (桜井 太郎) municipality
SHIBUKAWA = (
    Path(__file__).resolve().parents[2] / "docs" / "examples" / "shibukawa-offering.toml"
).read_text(encoding="utf-8")


def admin(sim: SimProcess, *args: str) -> str:
    done = kofu("center", "admin", "--state", str(sim.state / "center"), *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def city_restored(main_sim: SimProcess, tmp_path: Path) -> Iterator[None]:
    """The demo city's offering is put back (by `apply` too) for the tests that follow."""
    saved = tmp_path / "saved.toml"
    saved.write_text(admin(main_sim, "offering", "show", "--municipality", CITY), "utf-8")
    yield
    admin(main_sim, "apply", str(saved))


def test_the_kiosk_offers_what_the_city_applied(
    main_sim: SimProcess,
    kiosk_on: Callable[[SimProcess], Kiosk],
    city_restored: None,
    tmp_path: Path,
) -> None:
    # Shibukawa's offering (300 yen; no 所得証明書) for the demo city, with 個人番号 refused at
    # the kiosk and at most 3 copies of a 住民票
    text = re.sub(r'^code = "\d{6}"', f'code = "{CITY}"', SHIBUKAWA, count=1, flags=re.M)
    text = text.replace(
        "[juminhyo]  # 住民票の写し (self and household members)\n",
        '[juminhyo]\nkiosk_options = ["household", "honseki"]\nmax_copies = 3\n',
    )
    path = tmp_path / "offering.toml"
    path.write_text(text, encoding="utf-8")
    out = admin(main_sim, "apply", str(path))
    assert f"{CITY} shotoku.offered: True -> False" in out
    assert f"{CITY} juminhyo.kiosk_fee: 200 -> 300" in out

    k = kiosk_on(main_sim)
    k.login("valid")
    offered = sorted(
        str(el.get_attribute("data-testid")).removeprefix("cert-")
        for el in k.page.query_selector_all('[data-testid^="cert-"]')
    )
    assert offered == ["inkan", "juminhyo", "shotoku_kazei"]  # no 所得証明書
    for kind in offered:
        assert "300" in k.text(f"cert-{kind}"), k.text(f"cert-{kind}")

    k.tap("cert-juminhyo")
    k.on("subject")
    k.tap_text("member-", "桜井 太郎")
    k.tap("next")
    k.on("options")
    items = sorted(
        str(el.get_attribute("data-testid")).removeprefix("option-")
        for el in k.page.query_selector_all('[data-testid^="option-"]')
    )
    assert items == ["honseki", "household"]  # the city refuses 個人番号 at the kiosk
    k.tap("next")
    k.on("copies")
    copies = k.page.query_selector_all('[data-testid^="copies-"]')
    assert len(copies) == 3  # the center's limit, not the kiosk's own 10
    k.tap("copies-2")
    k.on("fee")
    assert "600" in k.text("fee-total")  # the center's quote: 2 × 300
    k.tap("fee-ok")
    k.on("payment")
    assert "600" in k.text("pay-fee")
    k.tap("cancel")
