"""The certificate check as a web page: upload a scan of the back (or the PDF), see VALID or
INVALID with the reason and the signed original content.

``make_router()`` gives a FastAPI router the center mounts (e.g. under /verify);
``create_app()`` serves it alone (``uvicorn documents.verify_web:create_app --factory``).
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, File, Form, HTTPException, UploadFile
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from documents.my_number_digest import InvalidMyNumber, normalize
from documents.trust import DEMO_TRUST, issuer_names, load_trust
from documents.upload_check import UploadRefused
from documents.verify import Report, check_number, document_lines, number_line
from documents.verify_pool import VerifyLimits, VerifyPool
from documents.web_guard import App, RateLimit, SecurityHeaders, StreamingBodyLimit

MAX_UPLOAD = 20 * 1024 * 1024

_PAGE = """<!doctype html>
<html lang="ja"><head><meta charset="utf-8"><title>証明書の確認</title>
<style>body{{font-family:sans-serif;max-width:46em;margin:2em auto}}
.VALID{{color:#060}}.INVALID{{color:#b00}}td{{padding:2px 8px;border-bottom:1px solid #ddd}}
</style></head><body>
<h1>証明書の確認</h1>
<p>証明書の裏面をスキャンした画像（PNG / JPEG）またはPDFを選んでください。</p>
<form method="post" action="{action}" enctype="multipart/form-data">
<input type="file" name="file" accept="image/png,image/jpeg,application/pdf" required>
<p><label>個人番号（任意）: <input name="my_number" inputmode="numeric" autocomplete="off"
maxlength="20"></label><br><small>コードには個人番号そのものは記録されていません。表面に記載された
番号を入力すると、署名された照合用の値と一致するかを確認します（入力した番号は保存しません）。</small></p>
<button type="submit">確認する</button></form>
{result}
</body></html>"""


def _style_hash() -> str:
    style = _PAGE.split("<style>", 1)[1].split("</style>", 1)[0]
    style = style.replace("{{", "{").replace("}}", "}")  # as rendered by str.format
    return base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()


# On every response of the page. Its only inline content is the <style> block, allowed by
# hash; no script at all. It shows personal data: never cached, framed or referred.
SECURITY_HEADERS = {
    "Content-Security-Policy": f"default-src 'none'; style-src 'sha256-{_style_hash()}'; "
                               "form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Strict-Transport-Security": "max-age=63072000",
}

_REFUSED_JA = {
    "too_large": "ファイルが大きすぎます（20 MB まで）。",
    "unsupported_type": "確認できるのは PNG・JPEG の画像と PDF だけです。",
    "busy": "ただいま混み合っています。しばらくしてからもう一度お試しください。",
    "too_many_requests": "短い時間に確認が続いたため受け付けられません。"
                         "しばらくしてからお試しください。",
}
_TOO_COMPLEX_JA = ("このファイルは大きすぎるか複雑すぎるため確認できません。証明書の裏面を 300 dpi "
                   "程度でスキャンした PNG または JPEG を選んでください。")


def refusal(path: str, status: int, code: str, message: str) -> tuple[str, bytes]:
    """A refused upload (not checked at all) as the page's HTML, or JSON for the API."""
    if path.rstrip("/").endswith("/api"):
        body = json.dumps({"error": code, "detail": message}).encode()
        return "application/json", body
    text = _REFUSED_JA.get(code, _TOO_COMPLEX_JA)
    result = (f'<h2 class="REFUSED">確認できません</h2><p>{html.escape(text)}</p>'
              f"<p><small>{status} {html.escape(code)}: {html.escape(message)}</small></p>")
    return "text/html; charset=utf-8", _PAGE.format(action="check", result=result).encode()


def _refused(path: str, exc: UploadRefused) -> Response:
    media, body = refusal(path, exc.status, exc.code, str(exc))
    headers = {"Retry-After": "30"} if exc.status == 503 else None
    return Response(body, status_code=exc.status, media_type=media, headers=headers)


def _result_html(report: Report, names: dict[str, str]) -> str:
    res = report.result
    verdict = res.verdict.value
    label = "有効（署名を確認しました）" if res.valid else "無効"
    parts = [f'<h2 class="{verdict}">{verdict}: {html.escape(label)}</h2>',
             f"<p>理由: {html.escape(res.reason.value)}"
             + (f" — {html.escape(report.detail)}" if report.detail else "") + "</p>"]
    if res.issuer_code:
        name = names.get(res.issuer_code, "")
        parts.append(f"<p>発行者: {html.escape(name)} ({html.escape(res.issuer_code)})</p>")
    if res.valid:
        parts.append(f"<p>{html.escape(number_line(report))}</p>")
    if res.document is not None:
        parts.append("<p>署名された原本の内容です。証明書の表面と照合してください。</p><table>")
        for k, v in document_lines(res.document):
            parts.append(f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>")
        parts.append("</table>")
    return "\n".join(parts)


async def _read_upload(file: UploadFile) -> bytes:
    data = await file.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise HTTPException(status_code=413, detail="file too large (20 MB at most)")
    if not data:
        raise HTTPException(status_code=400, detail="empty file")
    return data


def _typed_number(my_number: str | None) -> str | None:
    """The optional 個人番号 field: empty means not given; a malformed one is a 400 that
    does not repeat what was typed."""
    if my_number is None or not my_number.strip():
        return None
    try:
        return normalize(my_number)
    except InvalidMyNumber as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None


async def _checked(report: Report, my_number: str | None) -> Report:
    # scrypt costs ~0.1 s per member: off the event loop
    return await run_in_threadpool(check_number, report, my_number)


def make_router(trust_path: Path | str = DEMO_TRUST,
                limits: VerifyLimits | None = None) -> APIRouter:
    """Decoding runs in ``documents.verify_pool`` workers, never in this process."""
    trust = load_trust(trust_path)  # a bad trust store fails at start, not per request
    names = issuer_names(trust_path)
    pool = VerifyPool(trust, limits)
    pool.warm()
    router = APIRouter()

    @router.get("/", response_class=HTMLResponse)
    async def page() -> str:
        return _PAGE.format(action="check", result="")

    @router.post("/check", response_class=HTMLResponse)
    async def check(file: UploadFile = File(...),  # noqa: B008 (FastAPI idiom)
                    my_number: str | None = Form(None)) -> Response:  # noqa: B008
        number = _typed_number(my_number)
        try:
            report = await _checked(await pool.verify(await _read_upload(file)), number)
        except UploadRefused as exc:
            return _refused("/check", exc)
        return HTMLResponse(_PAGE.format(action="check", result=_result_html(report, names)))

    @router.post("/api", response_model=None)
    async def api(file: UploadFile = File(...),  # noqa: B008
                  my_number: str | None = Form(None)) -> dict[str, Any] | Response:  # noqa: B008
        number = _typed_number(my_number)
        try:
            report = await _checked(await pool.verify(await _read_upload(file)), number)
        except UploadRefused as exc:
            return _refused("/api", exc)
        doc = report.result.document
        return {"verdict": report.result.verdict.value, "reason": report.result.reason.value,
                "issuer": report.result.issuer_code, "detail": report.detail,
                "my_number": report.my_number.value, "my_number_member": report.my_number_member,
                "document": doc.to_dict() if doc else None}

    return router


def guard(app: App, per_minute: float = 6, burst: int = 6, body_limit: int = MAX_UPLOAD) -> App:
    """``app`` (serving this page) as it may face the public: security headers on every
    response, uploads rate-limited per client, bodies limited while they stream in."""
    limited = RateLimit(StreamingBodyLimit(app, body_limit, refusal), per_minute, burst, refusal)
    return SecurityHeaders(limited, SECURITY_HEADERS)


def create_app(trust_path: Path | str = DEMO_TRUST) -> App:
    app = FastAPI(title="kofu certificate check")
    app.include_router(make_router(trust_path))
    return guard(app)
