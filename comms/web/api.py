"""The JSON API under /api/v1, authenticated with bearer tokens."""

from __future__ import annotations

import json

from flask import Blueprint, g, jsonify, request
from werkzeug.exceptions import HTTPException

from comms.auth import service
from comms.ids import parse_id
from comms.web.context import db, now

bp = Blueprint("api", __name__, url_prefix="/api/v1")
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
# No request of ours needs more; a deeper or bigger body is refused before it is used.
MAX_JSON_DEPTH = 32
MAX_JSON_BYTES = 1_000_000
# Zendesk, incident.io and Slack call with their own signatures, not a bearer token.
UNAUTHENTICATED = {
    "api.zendesk_webhook",
    "api.openapi",
    "api.incident_io_webhook",
    "api.slack_command",
}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error(status: int, code: str, message: str):
    return jsonify(error=code, message=message), status


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError):
    return error(exc.status, exc.code, exc.message)


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    code = (exc.name or "error").lower().replace(" ", "_")
    return error(exc.code or 500, code, exc.description or exc.name)


@bp.before_request
def _authenticate():
    if request.endpoint in UNAUTHENTICATED:
        return None
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return error(401, "unauthorized", "Send an API token: Authorization: Bearer <token>.")
    user = service.user_for_token(db(), token=token.strip(), now=now())
    if user is None:
        return error(401, "unauthorized", "That API token is not valid or has been revoked.")
    db().commit()
    if request.method not in SAFE_METHODS and not user.can_change:
        return error(403, "forbidden", f"{user.email} is a viewer and cannot change anything.")
    g.api_user = user
    return None


NUL_REFUSED = "Text may not hold a NUL character (\\u0000)."


def _depth(value: object) -> tuple[int, bool]:
    """How deeply lists and objects nest in a parsed JSON value, and whether any of its text
    (keys too) holds a NUL character, which no name or message has and PostgreSQL refuses."""
    deepest, nul, level = 0, False, [(value, 1)]
    while level:
        item, depth = level.pop()
        if isinstance(item, str):
            nul = nul or "\x00" in item
        elif isinstance(item, dict | list):
            deepest = max(deepest, depth)
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            level.extend((child, depth + 1) for child in children)
    return deepest, nul


def parse_json(data: bytes) -> object:
    """A request body's JSON, or a clear 400 (413 when too big): never a server error."""
    if len(data) > MAX_JSON_BYTES:
        raise ApiError(413, "too_large", f"The body is over {MAX_JSON_BYTES:,} bytes.")
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):
        raise ApiError(400, "bad_request", "The body is not JSON.") from None
    depth, nul = _depth(value)
    if depth > MAX_JSON_DEPTH:
        raise ApiError(400, "bad_request", f"The JSON nests deeper than {MAX_JSON_DEPTH} levels.")
    if nul:
        raise ApiError(400, "bad_request", NUL_REFUSED)
    return value


def json_body() -> dict:
    """The request's JSON object, or a clear 400."""
    data = request.get_data()
    if not data:
        return {}
    body = parse_json(data)
    if not isinstance(body, dict):
        raise ApiError(400, "bad_request", "The body must be a JSON object.")
    return body


def is_id(value: object) -> bool:
    """A Zendesk or database id: a whole number from 1 to 2**63 - 1 (JSON true is not 1)."""
    return isinstance(value, int) and parse_id(value) is not None


@bp.get("/me")
def me():
    """Who this token belongs to."""
    user = g.api_user
    return {"id": user.id, "email": user.email, "name": user.name, "role": user.role}
