"""The browser protections every response carries, set in one place."""

from __future__ import annotations

from flask import Flask, Response, request

from comms.web.context import settings

# Only the site's own files run or style a page: no inline script or style, no plug-ins, and no
# framing by anyone (clickjacking). Forms post back to this site only.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# An e-mail's HTML part shown in the page's sandboxed frame: its inline styles only, nothing that
# runs or loads, and a unique origin even when opened on its own.
EMAIL_DOCUMENT_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'; sandbox"
)
# The same, readable by the framing page's own script so the frame can take the e-mail's full
# height: still nothing runs in it (no script source, and the sandbox does not allow scripts).
MEASURABLE_EMAIL_POLICY = EMAIL_DOCUMENT_POLICY + " allow-same-origin"
HSTS = "max-age=31536000; includeSubDomains"


def email_document(html: str, *, measurable: bool = False) -> Response:
    """An e-mail's HTML part as a page that only this site may frame."""
    response = Response(html, mimetype="text/html")
    policy = MEASURABLE_EMAIL_POLICY if measurable else EMAIL_DOCUMENT_POLICY
    response.headers["Content-Security-Policy"] = policy
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


def protect(response: Response) -> Response:
    """Add the protections a response has not set for itself."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if request.endpoint != "static":
        # Pages and API answers hold clients' names and addresses: never keep them in a cache.
        headers["Cache-Control"] = "no-store"
    if settings().web.base_url.startswith("https://"):
        headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def init_app(app: Flask) -> None:
    app.after_request(protect)
