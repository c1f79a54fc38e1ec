"""What the kiosk handed the citizen and may still be waiting for them to take.

Kept apart from :class:`~host.session.data.SessionData` because it outlives the session's
personal data: the certificate data is wiped once printed, but the citizen must still be told,
in their own language, how much money lies in the tray and what else to take. Amounts, flags
and a language code only: nothing here identifies anyone.
"""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass
class Handover:
    lang: str = "ja"  # the session's language, until the citizen has taken everything
    tray_yen: int = 0  # paid into the change tray this session and not seen taken yet
    refunded: bool = False  # the tray money is a refund (nothing was bought), not change
    receipt: bool = False  # a receipt was printed (no sensor: a reminder on the collect screen)
    here: bool = False  # the citizen ended the session themselves (cancel): they are here

    def paid_out(self, yen: int, refund: bool) -> None:
        if yen > 0:
            self.tray_yen += yen
            self.refunded = refund

    def clear(self) -> None:
        fresh = Handover()
        for f in fields(self):
            setattr(self, f.name, getattr(fresh, f.name))
