"""Flask blueprints, login, CSRF and the rules every page follows."""

from __future__ import annotations

from flask import Flask, abort, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect
from werkzeug.exceptions import NotFound
from werkzeug.routing import BaseConverter, ValidationError

from comms.auth import service as auth_service
from comms.auth.models import User
from comms.ids import parse_number
from comms.web import context
from comms.web.api import NUL_REFUSED, SAFE_METHODS
from comms.web.api import error as api_error

csrf = CSRFProtect()
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please sign in to continue."
# Pages that only exist to change something; a viewer is refused them as well.
CHANGE_PAGES = {"incidents.declare"}
NOT_FOUND = "There is nothing at this address. The incident or page may not exist."
FORBIDDEN = "Your account can see everything but change nothing. Ask an admin for the manager role."
# Pages anyone may reach; the API checks its own bearer tokens.
PUBLIC_ENDPOINTS = {"auth.login", "dashboard.healthz", "dashboard.favicon", "static"}


class IdConverter(BaseConverter):
    """`<int:...>` in an address: ASCII digits within 64 bits, else the page is not found."""

    regex = r"[0-9]+"
    weight = 50

    def to_python(self, value: str) -> int:
        number = parse_number(value)
        if number is None:
            raise ValidationError()
        return number

    def to_url(self, value: object) -> str:
        return str(int(str(value)))


@login_manager.user_loader
def _load_user(session_id: str) -> User | None:
    """The user while the session is current: logout, a new password or deactivation end it."""
    return auth_service.user_for_session(context.db(), session_id)


def _require_login():
    """Every page but sign-in and the health check needs a signed-in user."""
    if request.path.startswith("/api/") or request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    return None


def _no_nul_characters() -> ResponseReturnValue | None:
    """A NUL character in a form or an address is refused before anything reads it.

    The API's forms are left alone: reading them here would use up the body that a signed
    request (Slack's) is checked against; JSON bodies are checked as they are parsed.
    """
    fields = request.args if request.path.startswith("/api/") else request.values
    if not any("\x00" in value for values in fields.listvalues() for value in values):
        return None
    if request.path.startswith("/api/"):
        return api_error(400, "bad_request", NUL_REFUSED)
    abort(400, NUL_REFUSED)


def _viewers_change_nothing() -> None:
    """A viewer sees everything and changes nothing."""
    if request.path.startswith("/api/"):
        return
    if request.method in SAFE_METHODS and request.endpoint not in CHANGE_PAGES:
        return
    if request.endpoint in ("auth.login", "auth.logout"):
        return
    if current_user.is_authenticated and not current_user.can_change:
        abort(403)


def init_app(app: Flask) -> None:
    from comms.web import (
        api,
        api_contacts,
        api_followup,
        api_incident_io,
        api_incidents,
        api_operations,
        api_slack,
        api_updates,
        auth,
        contacts,
        dashboard,
        demo,
        filters,
        followup,
        headers,
        incidents,
        openapi,
        updates,
    )

    app.url_map.converters["int"] = IdConverter  # before any route is added
    login_manager.init_app(app)
    filters.init_app(app)
    headers.init_app(app)
    csrf.init_app(app)
    app.teardown_appcontext(context.close_db)
    app.before_request(_no_nul_characters)
    app.before_request(_require_login)
    app.before_request(_viewers_change_nothing)
    app.register_blueprint(auth.bp)
    app.register_blueprint(dashboard.bp)
    app.register_blueprint(incidents.bp)
    app.register_blueprint(contacts.bp)
    app.register_blueprint(updates.bp)
    app.register_blueprint(followup.bp)
    app.register_blueprint(api.bp)
    if app.extensions["comms"]["settings"].web.demo:
        app.register_blueprint(demo.bp)
    csrf.exempt(api.bp)
    del (
        api_contacts,
        api_followup,
        api_incident_io,
        api_incidents,
        api_operations,
        api_slack,
        api_updates,
        openapi,
    )  # imported for the routes they add to api.bp

    @app.errorhandler(404)
    def _not_found(error):
        if request.path.startswith("/api/"):
            said = error.description != NotFound.description  # abort(404, "why") says why
            message = error.description if said else f"There is nothing at {request.path}."
            return api.error(404, "not_found", message)
        return render_template("error.html", title="Not found", message=NOT_FOUND), 404

    @app.errorhandler(403)
    def _forbidden(error):
        return render_template("error.html", title="Not allowed", message=FORBIDDEN), 403

    @app.context_processor
    def _globals() -> dict:
        return {"settings": context.settings(), "now": context.now()}
