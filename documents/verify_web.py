"""The certificate check as a web page: upload a scan of the back (or the PDF), see VALID or
INVALID with the reason and the signed original content.

``make_router()`` gives a FastAPI router the center mounts (e.g. under /verify);
``create_app()`` serves it alone (``uvicorn documents.verify_web:create_app --factory``).
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, File, HTTPException, UploadFile
from fastapi.responses import HTMLResponse

from documents.trust import DEMO_TRUST, issuer_names, load_trust
from documents.verify import Report, document_lines, verify_file

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
<button type="submit">確認する</button></form>
{result}
</body></html>"""


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


def make_router(trust_path: Path | str = DEMO_TRUST) -> APIRouter:
    trust = load_trust(trust_path)  # a bad trust store fails at start, not per request
    names = issuer_names(trust_path)
    router = APIRouter()

    @router.get("/", response_class=HTMLResponse)
    async def page() -> str:
        return _PAGE.format(action="check", result="")

    @router.post("/check", response_class=HTMLResponse)
    async def check(file: UploadFile = File(...)) -> str:  # noqa: B008 (FastAPI idiom)
        report = verify_file(await _read_upload(file), trust)
        return _PAGE.format(action="check", result=_result_html(report, names))

    @router.post("/api")
    async def api(file: UploadFile = File(...)) -> dict[str, Any]:  # noqa: B008
        report = verify_file(await _read_upload(file), trust)
        doc = report.result.document
        return {"verdict": report.result.verdict.value, "reason": report.result.reason.value,
                "issuer": report.result.issuer_code, "detail": report.detail,
                "document": doc.to_dict() if doc else None}

    return router


def create_app(trust_path: Path | str = DEMO_TRUST) -> FastAPI:
    app = FastAPI(title="kofu certificate check")
    app.include_router(make_router(trust_path))
    return app
