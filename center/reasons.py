"""Why the center refuses: one code per reason, with the text the kiosk screen shows.

The kiosk shows ``message_ja`` / ``message_en`` as they are; every refusal that the citizen
can fix only at the city office ends with the counter advice.
"""

from __future__ import annotations

from enum import StrEnum

_COUNTER_JA = "市区町村の窓口でお手続きください。"
_COUNTER_EN = "Please apply at the municipal office counter."


class Reason(StrEnum):
    # card and challenge
    CHALLENGE_UNKNOWN = "challenge_unknown"
    CHALLENGE_EXPIRED = "challenge_expired"
    CHALLENGE_USED = "challenge_used"
    CHALLENGE_OTHER_KIOSK = "challenge_other_kiosk"
    CARD_MALFORMED = "card_malformed"
    CARD_UNTRUSTED = "card_untrusted"
    CARD_EXPIRED = "card_expired"
    CARD_NOT_YET_VALID = "card_not_yet_valid"
    CARD_REVOKED = "card_revoked"
    SIGNATURE_INVALID = "signature_invalid"
    CARD_UNREGISTERED = "card_unregistered"
    CARD_TOO_NEW = "card_too_new"
    # resident (SPEC §3)
    NOT_REGISTERED = "not_registered"
    UNDER_15 = "under_15"
    MOVED_OUT = "moved_out"
    MOVE_OUT_FILED = "move_out_filed"
    SUPPORT_MEASURES = "support_measures"
    DECEASED = "deceased"
    CHARACTER_LIMIT = "character_limit"
    MOVED_IN_TODAY = "moved_in_today"
    GAIJI_PENDING = "gaiji_pending"
    # service
    OUT_OF_HOURS = "out_of_hours"
    MAINTENANCE = "maintenance"
    # requests inside a session
    SESSION_INVALID = "session_invalid"
    KIOSK_UNKNOWN = "kiosk_unknown"
    KIOSK_SUSPENDED = "kiosk_suspended"  # `kofu center admin kiosk suspend`: out of service
    KIOSK_REVOKED = "kiosk_revoked"
    NOT_PERMITTED = "not_permitted"
    NOT_OFFERED = "not_offered"  # the city does not offer this type or 住民票 item at the kiosk
    ORDER_INVALID = "order_invalid"
    ORDER_UNKNOWN = "order_unknown"
    ALREADY_PAID = "already_paid"
    ORDER_VOID = "order_void"  # voided by the kiosk's recovery: never to be paid
    PAYMENT_MISMATCH = "payment_mismatch"
    CERTIFICATE_UNKNOWN = "certificate_unknown"
    REPRINT_NOT_ALLOWED = "reprint_not_allowed"
    REPRINT_EXPIRED = "reprint_expired"  # past the reprint window, or the content is purged
    PRINT_RESULT_FINAL = "print_result_final"  # a copy's print result is written once
    CLERK_INVALID = "clerk_invalid"  # unknown clerk, wrong PIN, or no live clerk token
    CLERK_LOCKED = "clerk_locked"
    # the JPKI CRL: fail closed (the kiosk shows it out of service with this code)
    CRL_STALE = "crl_stale"  # past its nextUpdate, or none for the card's CA
    CRL_ROLLBACK = "crl_rollback"  # a lower CRL number than one already accepted
    BAD_REQUEST = "bad_request"
    NOT_FOUND = "not_found"
    INTERNAL = "internal_error"
    BODY_TOO_LARGE = "body_too_large"

    @property
    def message_ja(self) -> str:
        return _MESSAGES.get(self, ("この端末ではお手続きできません。" + _COUNTER_JA, ""))[0]

    @property
    def message_en(self) -> str:
        return _MESSAGES.get(self, ("", "This service is not available here. " + _COUNTER_EN))[1]


_CARD_JA = "このカードはご利用になれません。"
_CARD_EN = "This card cannot be used."
_MESSAGES: dict[Reason, tuple[str, str]] = {
    Reason.CHALLENGE_UNKNOWN: ("もう一度カードを置いてください。", "Please place the card again."),
    Reason.CHALLENGE_EXPIRED: (
        "時間切れです。もう一度カードを置いてください。",
        "Timed out. Please place the card again.",
    ),
    Reason.CHALLENGE_USED: ("もう一度カードを置いてください。", "Please place the card again."),
    Reason.CHALLENGE_OTHER_KIOSK: (
        "もう一度カードを置いてください。",
        "Please place the card again.",
    ),
    Reason.CARD_MALFORMED: (_CARD_JA, _CARD_EN),
    Reason.CARD_UNTRUSTED: (
        _CARD_JA + "利用者証明用電子証明書が搭載されたマイナンバーカードをお使いください。",
        _CARD_EN + " Use a My Number card with the user-authentication certificate.",
    ),
    Reason.CARD_EXPIRED: (
        "電子証明書の有効期限が切れています。" + _COUNTER_JA,
        "The card's certificate has expired. " + _COUNTER_EN,
    ),
    Reason.CARD_NOT_YET_VALID: (_CARD_JA + _COUNTER_JA, _CARD_EN + " " + _COUNTER_EN),
    Reason.CARD_REVOKED: (
        "電子証明書が失効しています。" + _COUNTER_JA,
        "The card's certificate has been revoked. " + _COUNTER_EN,
    ),
    Reason.SIGNATURE_INVALID: (_CARD_JA, _CARD_EN),
    Reason.CARD_UNREGISTERED: (_CARD_JA + _COUNTER_JA, _CARD_EN + " " + _COUNTER_EN),
    Reason.CARD_TOO_NEW: (
        "カードの交付・転入・暗証番号変更の翌日からご利用いただけます。",
        "The card can be used from the day after it was issued, you moved in or changed the PIN.",
    ),
    Reason.UNDER_15: (
        "15歳未満の方はご利用いただけません。" + _COUNTER_JA,
        "Persons under 15 cannot use this service. " + _COUNTER_EN,
    ),
    Reason.MOVED_IN_TODAY: (
        "転入の当日はご利用いただけません。" + _COUNTER_JA,
        "Not available on the day you moved in. " + _COUNTER_EN,
    ),
    Reason.OUT_OF_HOURS: (
        "ご利用時間は6時30分から23時までです。",
        "Service hours are 6:30 to 23:00 (Japan time).",
    ),
    Reason.MAINTENANCE: (
        "ただいまメンテナンス中のためご利用いただけません。",
        "The service is closed for maintenance.",
    ),
    Reason.NOT_OFFERED: (
        "この証明書はこの端末では交付していません。" + _COUNTER_JA,
        "This certificate is not issued at kiosks. " + _COUNTER_EN,
    ),
    Reason.SESSION_INVALID: (
        "時間切れです。最初からやり直してください。",
        "Your session has ended. Please start again.",
    ),
    Reason.CRL_STALE: (
        "ただいまカードの確認ができないため、ご利用いただけません。",
        "Cards cannot be checked at the moment; the service is unavailable.",
    ),
    Reason.CRL_ROLLBACK: (
        "ただいまカードの確認ができないため、ご利用いただけません。",
        "Cards cannot be checked at the moment; the service is unavailable.",
    ),
}
for _r in (
    Reason.NOT_REGISTERED,
    Reason.MOVED_OUT,
    Reason.MOVE_OUT_FILED,
    Reason.SUPPORT_MEASURES,
    Reason.DECEASED,
    Reason.CHARACTER_LIMIT,
    Reason.GAIJI_PENDING,
):
    _MESSAGES[_r] = ("この端末では証明書を交付できません。" + _COUNTER_JA, _COUNTER_EN)


class Refusal(Exception):
    """A typed refusal; ``status`` is the HTTP status the API answers with."""

    def __init__(
        self,
        reason: Reason,
        status: int = 403,
        detail: str = "",
        notice: tuple[str, str] = ("", ""),
    ) -> None:
        super().__init__(f"{reason.value}{': ' + detail if detail else ''}")
        self.reason = reason
        self.status = status
        self.detail = detail
        # a city's own words for the citizen (a maintenance window's notice), else the reason's
        self.message_ja = notice[0] or reason.message_ja
        self.message_en = notice[1] or reason.message_en
