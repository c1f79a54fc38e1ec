"""Verification of a printed certificate: scan -> payload -> signature -> signed original."""

from __future__ import annotations

from dataclasses import dataclass

from documents.model import CertificateDocument, CertificateType, JuminhyoOption
from documents.scan import NoCodeFound, ScanError, payload_from_file
from documents.signing import Reason, Verdict, VerifyResult, verify_payload


@dataclass(frozen=True)
class Report:
    result: VerifyResult
    detail: str = ""

    @property
    def valid(self) -> bool:
        return self.result.valid


def verify_file(data: bytes, trust: dict[str, bytes]) -> Report:
    try:
        payload = payload_from_file(data)
    except NoCodeFound as exc:
        return Report(VerifyResult(Verdict.INVALID, Reason.NO_CODE), str(exc))
    except ScanError as exc:
        return Report(VerifyResult(Verdict.INVALID, Reason.MALFORMED), str(exc))
    return Report(verify_payload(payload, trust))


_LABELS = {
    "name": "氏名", "kana": "フリガナ", "birth_date": "生年月日", "sex": "性別",
    "resident_since": "住民となった年月日", "address": "住所", "moved_in": "住所を定めた年月日",
    "previous_address": "前住所", "alias": "通称", "household_head": "世帯主",
    "relationship": "続柄", "my_number": "個人番号", "honseki": "本籍", "hittosha": "筆頭者",
    "nationality": "国籍・地域", "residence_card_number": "在留カード等の番号",
    "article_30_45": "法第30条の45に規定する区分", "residence_status": "在留資格",
    "period_of_stay": "在留期間等", "stay_expiry": "在留期間の満了の日",
    "registration_number": "登録番号", "seal_image_sha256": "印影のSHA-256",
    "fiscal_year": "年度", "total_income": "合計所得金額", "salary_income": "給与収入",
    "other_income": "その他の所得", "deductions": "所得控除額", "dependents": "扶養人数",
    "municipal_tax": "市民税額", "prefectural_tax": "県民税額",
}

_OPTION_JA = {
    JuminhyoOption.HOUSEHOLD: "世帯主・続柄", JuminhyoOption.MY_NUMBER: "個人番号",
    JuminhyoOption.HONSEKI: "本籍・筆頭者", JuminhyoOption.NATIONALITY: "国籍・地域",
    JuminhyoOption.RESIDENCE_CARD: "在留カード等の番号",
    JuminhyoOption.RESIDENCE_STATUS: "在留資格等",
}


def document_lines(doc: CertificateDocument) -> list[tuple[str, str]]:
    """The signed original content as (label, value) lines, for people to compare."""
    lines = [
        ("証明書", CertificateType(doc.type).title_ja), ("証明書番号", doc.certificate_number),
        ("発行者", f"{doc.issuer.name}（{doc.issuer.code}）"),
        ("市区町村長", f"{doc.issuer.mayor_title} {doc.issuer.mayor_name}"),
        ("発行日", doc.issue_date), ("記録の基準日", doc.data_as_of),
    ]
    if doc.options:
        lines.append(("記載事項", "、".join(_OPTION_JA[o] for o in doc.options)))
    for i, person in enumerate(doc.members, start=1):
        for key, value in person.__dict__.items():
            if value is not None:
                lines.append((f"[{i}] {_LABELS.get(key, key)}", str(value)))
    for part in (doc.seal, doc.income):
        if part is not None:
            for key, value in part.__dict__.items():
                if value is not None:
                    lines.append((_LABELS.get(key, key), str(value)))
    return lines
