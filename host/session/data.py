"""What one citizen session holds, and how it is dropped at the end.

Everything here is personal or derived from personal data except the language, so
:meth:`SessionData.wipe` resets every field; the machine calls it whenever a session ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from documents.model import CertificateType, JuminhyoOption

from .events import IssuedDocument, Menu, Quote, RefusalReason


@dataclass
class SessionData:
    session_id: str = ""
    lang: str = "ja"
    tries_left: int | None = None
    pin_error: bool = False
    auth_step: str = ""
    menu: Menu | None = field(default=None, repr=False)
    kind: CertificateType | None = None
    member_ids: tuple[str, ...] = ()
    options: frozenset[JuminhyoOption] = frozenset()
    fiscal_year: int | None = None
    copies: int = 0
    quote: Quote | None = None
    inserted_yen: int = 0
    paid_yen: int = 0  # fee actually kept once payment completed
    change_yen: int = 0
    idempotency_key: str = ""
    documents: tuple[IssuedDocument, ...] = field(default=(), repr=False)
    certificate_numbers: tuple[str, ...] = ()
    page: int = 0
    pages: int = 0
    notice: str = ""  # message key of the notice or refusal shown
    refusal: RefusalReason | None = None
    input_error: str = ""  # message key for rejected input on the current screen
    recovered: tuple[int, int] = (0, 0)  # an interrupted session: copies printed, yen back

    def wipe(self, keep_lang: bool = False) -> None:
        fresh = SessionData(lang=self.lang if keep_lang else "ja")
        for f in fields(self):
            setattr(self, f.name, getattr(fresh, f.name))

    def is_empty(self) -> bool:
        return self == SessionData()
