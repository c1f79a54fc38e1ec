"""Every certificate the demo center offers, chosen on the real screen and paid in cash: each
printed PDF verifies with `kofu verify` (the center's signature, and the content is what was
chosen), the receipt shows the fee, paid and change, the journal holds the fee once.
One `kofu sim` for the module."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import Kiosk, SimProcess, needs_sim

pytestmark = needs_sim

CITY, TOWN = "999001", "999002"  # center/demo.py: 桜ヶ丘市 200 yen a copy, 若葉町 300
NAMES = {CITY: "桜ヶ丘市", TOWN: "若葉町"}
TITLES = {
    "juminhyo": "住民票の写し",
    "inkan": "印鑑登録証明書",
    "shotoku": "所得証明書",
    "shotoku_kazei": "所得課税証明書",
}
# The member field each 住民票 option group adds to the signed content.
OPTION_FIELDS = {
    "household": "relationship",
    "my_number": "my_number_digest",  # the code carries a salted digest, never the number
    "honseki": "honseki",
    "nationality": "nationality",
    "residence_card": "residence_card_number",
    "residence_status": "residence_status",
}


@dataclass(frozen=True)
class Order:
    persona: str
    kind: str
    municipality: str
    members: tuple[str, ...] = ()  # names to tick on the subject screen (none: no screen)
    options: tuple[str, ...] = ()
    year: str = ""  # "latest" / "oldest" on the fiscal-year screen; "" when there is none
    copies: int = 1
    pay: tuple[int, ...] = (500,)

    @property
    def unit(self) -> int:
        return 200 if self.municipality == CITY else 300

    @property
    def fee(self) -> int:
        return self.unit * self.copies


ORDERS = {
    "juminhyo-two-members-household-honseki-my-number-2-copies": Order(
        "valid",
        "juminhyo",
        CITY,
        ("桜井 太郎", "桜井 花子"),
        ("household", "honseki", "my_number"),
        copies=2,
        pay=(1000,),
    ),  # fmt: skip
    "juminhyo-foreign-resident-options": Order(
        "foreign-resident",
        "juminhyo",
        CITY,
        (),
        ("household", "nationality", "residence_card", "residence_status"),
    ),  # fmt: skip
    "inkan": Order("valid", "inkan", CITY),
    "shotoku-older-year": Order("valid", "shotoku", CITY, year="oldest"),
    "shotoku-kazei-latest-year-2-copies": Order(
        "valid", "shotoku_kazei", CITY, year="latest", copies=2, pay=(500,)
    ),
    "shotoku-single-year": Order("foreign-resident", "shotoku", CITY),
    "juminhyo-town-fee": Order(
        "town-resident", "juminhyo", TOWN, (), ("household",), pay=(100, 100, 100)
    ),  # fmt: skip
}


def choose(k: Kiosk, o: Order) -> dict[str, Any]:
    """From the certificate screen to the fee screen, as the order says; returns what the
    screen offered along the way."""
    seen: dict[str, Any] = {}
    k.tap(f"cert-{o.kind}")
    if o.kind == "juminhyo":
        screen = k.on("subject", "options")
        if o.members:
            assert screen == "subject"
            for name in o.members:
                k.tap_text("member-", name)
            k.tap("next")
            k.on("options")
        else:
            assert screen == "options", "a one-person household skips the subject screen"
        seen["options"] = sorted(
            str(el.get_attribute("data-testid")).removeprefix("option-")
            for el in k.page.query_selector_all('[data-testid^="option-"]')
        )
        for opt in o.options:
            k.tap(f"option-{opt}")
        k.tap("next")
        if "my_number" in o.options:
            k.on("my_number_warning")
            k.tap("warning-ok")
    elif o.kind in ("shotoku", "shotoku_kazei"):
        screen = k.on("fiscal_year", "copies")
        if o.year:
            assert screen == "fiscal_year"
            years = sorted(
                int(str(el.get_attribute("data-testid")).removeprefix("year-"))
                for el in k.page.query_selector_all('[data-testid^="year-"]')
            )
            seen["year"] = years[-1] if o.year == "latest" else years[0]
            k.tap(f"year-{seen['year']}")
        else:
            assert screen == "copies", "one fiscal year on record: no year screen"
    k.on("copies")
    k.tap(f"copies-{o.copies}")
    k.on("fee")
    return seen


def verify(pdf: Path, trust: Path) -> dict[str, Any]:
    """`kofu verify PDF --trust T --json`, in this process (the CLI's own main)."""
    from documents.verify_cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main([str(pdf), "--trust", str(trust), "--json"])
    assert code == 0, out.getvalue()
    result: dict[str, Any] = json.loads(out.getvalue())
    assert result["verdict"] == "VALID", result
    return result


# receipt_layout: the title (40 px) and the municipality line (24 px) above the first rule
HEADER = 8 + int(40 * 1.35) + int(24 * 1.35)


def expected_receipt_top(o: Order, numbers: list[str], paid: int) -> Any:
    """The receipt as drawn for this order, without its last three lines (transaction
    number, time, notice): the part that must match the printed slip to the pixel."""
    from drivers.printer.receipt_layout import Receipt, ReceiptLine, receipt_image

    img = receipt_image(
        Receipt(
            municipality=NAMES[o.municipality], kiosk_id="kofu-kiosk",
            transaction_no=",".join(numbers),
            issued_at="", lines=(ReceiptLine(TITLES[o.kind], o.copies, o.unit),),
            paid=paid, change=paid - o.fee,
        )
    )  # fmt: skip
    return img, img.height - 3 * int(22 * 1.35) - 8


@pytest.mark.parametrize("name", list(ORDERS))
def test_certificate(
    name: str, main_sim: SimProcess, kiosk_on: Callable[[SimProcess], Kiosk], tmp_path: Path
) -> None:
    from PIL import Image, ImageChops

    o = ORDERS[name]
    sim = main_sim
    k = kiosk_on(sim)
    before = sim.outputs()
    k.login(o.persona)
    assert TITLES[o.kind] in k.text()
    seen = choose(k, o)
    if "options" in seen:
        foreign = o.persona == "foreign-resident"
        assert ("nationality" in seen["options"]) is foreign, seen
        assert ("honseki" in seen["options"]) is not foreign, seen
    assert f"{o.fee:,}" in k.text("fee-total")
    k.tap("fee-ok")
    k.on("payment")
    assert f"{o.fee:,}" in k.text("pay-fee")
    k.insert(*o.pay)
    k.on("collect", timeout=90)
    after = sim.wait_outputs(lambda out: len(out["receipts"]) > len(before["receipts"]))
    k.take_everything()
    k.on("thanks", "idle")

    paid = sum(o.pay)
    cash = {key: after["cash"][key] - before["cash"][key] for key in after["cash"]}
    assert cash["coins_in"] + cash["bills_in"] == paid
    assert cash["paid_out"] == paid - o.fee  # the change, from the hoppers

    trust = sim.trust(tmp_path / "trust.json")
    pdfs = [Path(p) for p in after["printed"] if p not in before["printed"]]
    assert len(pdfs) == o.copies, pdfs
    docs = [verify(pdf, trust)["document"] for pdf in pdfs]
    numbers = sorted({d["certificate_number"] for d in docs})
    assert len(numbers) == o.copies, "each copy has its own certificate number"
    for doc in docs:
        assert doc["type"] == o.kind
        assert doc["issuer"]["code"] == o.municipality
        if o.kind == "juminhyo":
            assert sorted(doc.get("options", [])) == sorted(o.options)
            names = [m["name"] for m in doc["members"]]
            assert names == list(o.members) or not o.members, names
            for opt, field in OPTION_FIELDS.items():
                for m in doc["members"]:
                    assert (field in m) == (opt in o.options), (opt, m)
        elif o.kind == "inkan":
            assert doc["seal"], doc
        else:
            assert doc["income"], doc
            if "year" in seen:
                assert doc["income"]["fiscal_year"] == seen["year"]

    receipts = [Path(p) for p in after["receipts"] if p not in before["receipts"]]
    assert len(receipts) == 1, receipts
    printed = Image.open(receipts[0]).convert("1")
    want, top = expected_receipt_top(o, numbers, paid)
    # the printer feeds blank paper before the cut: the slip is longer than the drawing
    assert printed.width == want.width and printed.height >= want.height

    def differs(box: tuple[int, int, int, int]) -> bool:
        a, b = printed.crop(box).convert("L"), want.crop(box).convert("L")
        return ImageChops.difference(a, b).getbbox() is not None

    assert not differs((0, HEADER, want.width, top)), "the lines, fee, paid or change differ"
    assert not differs((0, 0, want.width, HEADER)), "the receipt's heading differs"
