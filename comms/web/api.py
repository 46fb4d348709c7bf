"""The JSON API under /api/v1, authenticated with bearer tokens."""

from __future__ import annotations

from flask import Blueprint, g, jsonify, request
from werkzeug.exceptions import HTTPException

from comms.auth import service
from comms.web.context import db, now

bp = Blueprint("api", __name__, url_prefix="/api/v1")
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
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


def json_body() -> dict:
    """The request's JSON object, or a clear 400."""
    body = request.get_json(silent=True)
    if body is None and not request.data:
        return {}
    if not isinstance(body, dict):
        raise ApiError(400, "bad_request", "The body must be a JSON object.")
    return body


def is_id(value: object) -> bool:
    """A Zendesk or database id: a positive whole number (JSON true is not 1)."""
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


@bp.get("/me")
def me():
    """Who this token belongs to."""
    user = g.api_user
    return {"id": user.id, "email": user.email, "name": user.name, "role": user.role}
