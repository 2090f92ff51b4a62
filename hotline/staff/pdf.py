"""Printable pages as PDF: a staff page's HTML (inline CSS and SVG, nothing fetched) laid out by WeasyPrint."""

from __future__ import annotations

from fastapi.responses import Response
from weasyprint import CSS, HTML
from weasyprint.urls import URLFetcher


def html_to_pdf(html: str, css: str = "") -> bytes:
    """The PDF of a self-contained HTML document and its print stylesheet (charts inline SVG; no URL is fetched)."""
    # No protocol allowed: a printable page needs nothing from outside (no file, no network), whatever its HTML says.
    fetcher = URLFetcher(allowed_protocols=())
    sheets = [CSS(string=css, url_fetcher=fetcher)] if css else []
    pdf: bytes = HTML(string=html, url_fetcher=fetcher).write_pdf(stylesheets=sheets)
    return pdf


def pdf_response(html: str, filename: str, css: str = "") -> Response:
    """The PDF as a download, never cached (a report holds an area's figures)."""
    return Response(
        html_to_pdf(html, css),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )
