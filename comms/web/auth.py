"""Sign in and out."""

from __future__ import annotations

import secrets
from datetime import timedelta
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.wrappers import Response
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired

from comms.auth import service
from comms.web.context import db, now, settings
from comms.web.filters import local

bp = Blueprint("auth", __name__)
# Set at a successful sign-in: this browser may sign in to that account again while strangers'
# guesses slow the account down (OWASP's device cookie). Signed, so it cannot be made up.
DEVICE_COOKIE = "comms_device"
DEVICE_COOKIE_AGE = timedelta(days=365)


class LoginForm(FlaskForm):
    email = EmailField("E-mail", validators=[DataRequired()])
    password = PasswordField("Password", validators=[DataRequired()])


def _safe_next(target: str | None) -> str:
    """Only follow a `next` that stays on this site."""
    if target and not urlsplit(target).netloc and target.startswith("/") and "//" not in target:
        return target
    return url_for("dashboard.index")


def _device_signer() -> URLSafeSerializer:
    return URLSafeSerializer(settings().web.secret_key, salt="comms-known-device")


def _known_device(email: str) -> str | None:
    """This browser's device nonce if its cookie was set by a sign-in to this e-mail."""
    try:
        found = _device_signer().loads(request.cookies.get(DEVICE_COOKIE, ""))
    except BadSignature:
        return None
    if not isinstance(found, dict) or found.get("email") != email.strip().lower():
        return None
    nonce = found.get("nonce")
    return nonce if isinstance(nonce, str) else None


def _remember_device(response: Response, email: str, nonce: str | None) -> None:
    value = _device_signer().dumps({"email": email, "nonce": nonce or secrets.token_urlsafe(16)})
    response.set_cookie(
        DEVICE_COOKIE,
        value,
        max_age=int(DEVICE_COOKIE_AGE.total_seconds()),
        httponly=True,
        samesite="Lax",
        secure=settings().web.base_url.startswith("https://"),
    )


def _throttled_message(error: service.Throttled) -> str:
    seconds = max(1, int((error.retry_at - now()).total_seconds()))
    if seconds < 120:
        return f"Too many failed sign-ins for this account. Try again in {seconds} seconds."
    return f"Too many failed sign-ins. Try again after {local(error.retry_at, '%H:%M %Z')}."


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the sign-in form and sign the user in."""
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        email = form.email.data or ""
        device = _known_device(email)
        try:
            user = service.authenticate(
                db(),
                email=email,
                password=form.password.data or "",
                address=request.remote_addr or "unknown",
                now=now(),
                device=device,
            )
        except service.Throttled as error:
            db().commit()
            flash(_throttled_message(error), "error")
            status = 429
        except service.AuthError as error:
            db().commit()  # keep the failure count, and let the next guess in
            flash(str(error), "error")
            status = 401
        else:
            db().commit()
            login_user(user)
            response = redirect(_safe_next(request.args.get("next")))
            _remember_device(response, user.email, device)
            return response
    elif request.method == "POST":
        status = 400
    return render_template("login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """Sign the user out here and in every other browser."""
    service.end_sessions(db(), current_user)
    db().commit()
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))
