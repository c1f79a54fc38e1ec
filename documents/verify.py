"""Verification of a printed certificate: scan -> payload -> signature -> signed original."""

from __future__ import annotations

from dataclasses import dataclass, replace

from documents.model import CertificateDocument, CertificateType, JuminhyoOption
from documents.my_number_digest import NumberCheck, check
from documents.scan import NoCodeFound, ScanError, payload_from_file
from documents.signing import Reason, Verdict, VerifyResult, verify_payload
from documents.upload_check import UploadRefused


@dataclass(frozen=True)
class Report:
    result: VerifyResult
    detail: str = ""
    # the 個人番号 the verifier supplied, checked against the signed digests
    my_number: NumberCheck = NumberCheck.NOT_CHECKED
    my_number_member: int | None = None  # 1-based position of the matching member

    @property
    def valid(self) -> bool:
        return self.result.valid


def verify_file(data: bytes, trust: dict[str, bytes], my_number: str | None = None) -> Report:
    """``my_number``, when given, must be 12 digits (InvalidMyNumber otherwise: check it
    before the scan); it is checked only against a VALID signed content."""
    try:
        payload = payload_from_file(data)
    except NoCodeFound as exc:
        return Report(VerifyResult(Verdict.INVALID, Reason.NO_CODE), str(exc))
    except (ScanError, UploadRefused) as exc:  # a type or size the scan does not read
        return Report(VerifyResult(Verdict.INVALID, Reason.MALFORMED), str(exc))
    return check_number(Report(verify_payload(payload, trust)), my_number)


def check_number(report: Report, my_number: str | None) -> Report:
    doc = report.result.document
    if doc is None or not report.valid:
        return report
    outcome, member = check(doc, my_number)
    return replace(report, my_number=outcome, my_number_member=member)


_NUMBER_JA = {
    NumberCheck.MATCH: "一致しました",
    NumberCheck.MISMATCH: "一致しません",
    NumberCheck.NOT_CHECKED: "照合していません",
    NumberCheck.ABSENT: "この証明書に個人番号の記載はありません",
}


def number_line(report: Report) -> str:
    """The 個人番号 check as one line, e.g. "個人番号: matches [2] (一致しました)"."""
    where = f" [{report.my_number_member}]" if report.my_number_member else ""
    return f"個人番号: {report.my_number.value}{where} ({_NUMBER_JA[report.my_number]})"


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


# The code holds a salted digest, not the number: say so instead of showing the digest.
_DIGEST_ONLY = ("記載あり（コードには番号ではなく照合用の値のみ。"
                "表面の番号を入力すると照合できます）")


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
            if key == "my_number_digest" and value is not None:
                lines.append((f"[{i}] 個人番号", _DIGEST_ONLY))
            elif value is not None:
                lines.append((f"[{i}] {_LABELS.get(key, key)}", str(value)))
    for part in (doc.seal, doc.income):
        if part is not None:
            for key, value in part.__dict__.items():
                if value is not None:
                    lines.append((_LABELS.get(key, key), str(value)))
    return lines
