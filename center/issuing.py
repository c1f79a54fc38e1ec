"""Building the signed certificate documents from records (the `documents` model)."""

from __future__ import annotations

import hashlib
from datetime import date

from sqlalchemy.orm import object_session

from center import models
from center.atrest import session_keystore
from documents.model import (
    CertificateDocument,
    CertificateType,
    IncomeRecord,
    Issuer,
    JuminhyoOption,
    Person,
    SealRegistration,
)
from documents.signing import signed_message


def issuer_of(muni: models.Municipality) -> Issuer:
    return Issuer(
        code=muni.code, name=muni.name, mayor_title=muni.mayor_title, mayor_name=muni.mayor_name
    )


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def person(
    r: models.Resident, household_head: str | None, options: frozenset[JuminhyoOption]
) -> Person:
    """One member of a 住民票の写し; a group not chosen, or not applicable to this person's
    nationality, is left out of the content altogether."""
    o = JuminhyoOption
    foreign = r.foreign
    status = o.RESIDENCE_STATUS in options and foreign
    return Person(
        name=r.name,
        kana=r.kana,
        birth_date=r.birth_date.isoformat(),
        sex=r.sex,
        resident_since=r.resident_since.isoformat(),
        address=r.address,
        moved_in=_iso(r.moved_in),
        previous_address=r.previous_address,
        alias=r.alias,
        household_head=household_head if o.HOUSEHOLD in options else None,
        relationship=r.relationship if o.HOUSEHOLD in options else None,
        my_number=r.my_number if o.MY_NUMBER in options else None,
        honseki=r.honseki if o.HONSEKI in options and not foreign else None,
        hittosha=r.hittosha if o.HONSEKI in options and not foreign else None,
        nationality=r.nationality if o.NATIONALITY in options and foreign else None,
        residence_card_number=(
            r.residence_card_number if o.RESIDENCE_CARD in options and foreign else None
        ),
        article_30_45=r.article_30_45 if status else None,
        residence_status=r.residence_status if status else None,
        period_of_stay=r.period_of_stay if status else None,
        stay_expiry=_iso(r.stay_expiry) if status else None,
    )


def juminhyo(
    number: str,
    muni: models.Municipality,
    members: list[models.Resident],
    household_head: str | None,
    options: frozenset[JuminhyoOption],
    today: date,
) -> CertificateDocument:
    return CertificateDocument(
        type=CertificateType.JUMINHYO,
        certificate_number=number,
        issuer=issuer_of(muni),
        issue_date=today.isoformat(),
        data_as_of=max(m.data_as_of for m in members).isoformat(),
        options=tuple(sorted(options)),
        members=tuple(person(m, household_head, options) for m in members),
    )


def inkan(
    number: str,
    muni: models.Municipality,
    r: models.Resident,
    seal: models.SealRegistration,
    today: date,
) -> CertificateDocument:
    return CertificateDocument(
        type=CertificateType.INKAN,
        certificate_number=number,
        issuer=issuer_of(muni),
        issue_date=today.isoformat(),
        data_as_of=r.data_as_of.isoformat(),
        seal=SealRegistration(
            registration_number=seal.registration_number,
            name=r.name,
            birth_date=r.birth_date.isoformat(),
            address=r.address,
            seal_image_sha256=hashlib.sha256(seal.image_png).hexdigest(),
        ),
    )


def income(
    number: str,
    muni: models.Municipality,
    r: models.Resident,
    rec: models.IncomeRecord,
    with_tax: bool,
    today: date,
) -> CertificateDocument:
    return CertificateDocument(
        type=CertificateType.SHOTOKU_KAZEI if with_tax else CertificateType.SHOTOKU,
        certificate_number=number,
        issuer=issuer_of(muni),
        issue_date=today.isoformat(),
        data_as_of=r.data_as_of.isoformat(),
        income=IncomeRecord(
            fiscal_year=rec.fiscal_year,
            name=r.name,
            address=r.address,
            birth_date=r.birth_date.isoformat(),
            total_income=rec.total_income,
            salary_income=rec.salary_income,
            other_income=rec.other_income,
            deductions=rec.deductions,
            dependents=rec.dependents,
            municipal_tax=rec.municipal_tax if with_tax else None,
            prefectural_tax=rec.prefectural_tax if with_tax else None,
        ),
    )


def sign(doc: CertificateDocument, muni: models.Municipality) -> bytes:
    """Signed inside the token (center/keystore.py) of the engine ``muni`` was loaded with:
    the municipality's private key is never in this process."""
    db = object_session(muni)
    if db is None:
        raise ValueError("sign() needs a municipality loaded from the database")
    message = signed_message(doc)
    return message + session_keystore(db).sign(muni.signing_key_id, message)
