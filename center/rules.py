"""Who may be served, and when (SPEC §3). Pure functions over records and a date/time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from center.clock import JST
from center.reasons import Reason, Refusal
from documents.model import CHARACTER_LIMITS


@dataclass(frozen=True)
class ResidentFacts:
    """What the rules look at; built from a Resident row (and its household's head name)."""

    birth_date: date
    registered: bool
    moved_out: bool
    move_out_filed: bool
    support_measures: bool
    deceased: bool
    gaiji_pending: bool
    move_in_filed: date | None  # the 転入届's 届出日, not 住所を定めた年月日
    fields: dict[str, str | None]  # the CHARACTER_LIMITS keys


def age_on(birth: date, today: date) -> int:
    years = today.year - birth.year
    if (today.month, today.day) < (birth.month, birth.day):
        years -= 1
    return years


def over_limit(fields: dict[str, str | None]) -> list[str]:
    """Names of the fields longer than the kiosk system's character limit."""
    return sorted(
        name
        for name, limit in CHARACTER_LIMITS.items()
        if (value := fields.get(name)) is not None and len(value) > limit
    )


def refusal_for(facts: ResidentFacts, today: date) -> Reason | None:
    """The first rule the resident fails, in the order a clerk would explain them."""
    if facts.deceased:
        return Reason.DECEASED
    if not facts.registered:
        return Reason.NOT_REGISTERED
    if facts.moved_out:
        return Reason.MOVED_OUT
    if facts.move_out_filed:
        return Reason.MOVE_OUT_FILED
    if facts.support_measures:
        return Reason.SUPPORT_MEASURES
    if age_on(facts.birth_date, today) < 15:
        return Reason.UNDER_15
    if facts.move_in_filed == today:
        return Reason.MOVED_IN_TODAY
    if facts.gaiji_pending:
        return Reason.GAIJI_PENDING
    if over_limit(facts.fields):
        return Reason.CHARACTER_LIMIT
    return None


def check_resident(facts: ResidentFacts, today: date) -> None:
    reason = refusal_for(facts, today)
    if reason is not None:
        raise Refusal(reason)


@dataclass(frozen=True)
class Window:
    yearly_from: str | None = None  # "MM-DD", inclusive
    yearly_to: str | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None

    def covers(self, instant: datetime) -> bool:
        local = instant.astimezone(JST)
        if self.yearly_from and self.yearly_to:
            md = local.strftime("%m-%d")
            if self.yearly_from <= self.yearly_to:
                return self.yearly_from <= md <= self.yearly_to
            return md >= self.yearly_from or md <= self.yearly_to  # wraps the year end
        if self.starts_at and self.ends_at:
            return self.starts_at <= instant < self.ends_at
        return False


YEAR_END = Window(yearly_from="12-29", yearly_to="01-03")
