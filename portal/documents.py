"""Document downloads by signed link (the national panel's copy of a report): one document
version per link, until the link's date. Each download is audited; a bad, expired or tampered
link gets the portal's bare 403 page."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from portal.refusal import forbidden
from services.documents import download_by_link
from services.links import LinkRefused
from services.runtime import runtime

router = APIRouter()


@router.get("/d/{token}")
async def download(token: str) -> Response:
    """The document the link grants, as an attachment named by reference, kind and version."""
    try:
        granted = await run_in_threadpool(download_by_link, runtime(), token)
    except LinkRefused as exc:
        return forbidden(exc)
    return Response(
        granted.data,
        media_type=granted.document.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{granted.document.safe_filename}"',
            "Cache-Control": "no-store",
        },
    )
