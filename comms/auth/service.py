"""Create staff users, check passwords with throttling, and issue API tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from comms.auth import throttle
from comms.auth.models import ApiToken, Role, User
from comms.ids import parse_id, parse_number

HASHER = PasswordHasher()  # Argon2id with the library's current recommended parameters
EMAIL_PATTERN = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+$")
# Verifying against this keeps the time of a login for an unknown e-mail like a known one.
_DUMMY_HASH = HASHER.hash("not a real password")


class AuthError(Exception):
    """A sign-in or account problem, worded for the person at the keyboard."""


@dataclass(frozen=True)
class Throttled(AuthError):
    retry_at: datetime

    def __str__(self) -> str:
        return (
            "Too many failed sign-ins. Try again after " + self.retry_at.strftime("%H:%M UTC") + "."
        )


def valid_email(email: str) -> bool:
    return bool(EMAIL_PATTERN.match(email)) and len(email) <= 254


def create_user(
    db_session: Session, *, email: str, name: str, role: str, password: str, now: datetime
) -> User:
    """Add a staff user; the password is stored only as an Argon2id hash."""
    email = email.strip().lower()
    if not valid_email(email):
        raise AuthError(f"{email!r} is not an e-mail address.")
    if role not in set(Role):
        raise AuthError(f"role {role!r} is not one of admin, manager, viewer.")
    if len(password) < 10:
        raise AuthError("the password must have at least 10 characters.")
    if len(name) > 200:
        raise AuthError("the name must have at most 200 characters.")
    if db_session.scalar(select(User).where(User.email == email)):
        raise AuthError(f"a user with the e-mail {email} already exists.")
    user = User(
        email=email,
        name=name.strip() or email,
        role=role,
        password_hash=HASHER.hash(password),
        created_at=now,
    )
    db_session.add(user)
    db_session.flush()
    return user


def authenticate(
    db_session: Session,
    *,
    email: str,
    password: str,
    address: str,
    now: datetime,
    device: str | None = None,
) -> User:
    """Return the user for these credentials, or raise AuthError / Throttled.

    `device` is the nonce of this browser's known-device cookie for this e-mail, if it has one.
    The throttle's rows stay locked until the caller commits, so commit either way.
    """
    email = email.strip().lower()[:254]
    attempt = throttle.lock(
        db_session, throttle.keys(email=email, address=address[:64], device=device), now=now
    )
    retry_at = throttle.refused_until(attempt, now=now)
    if retry_at is not None:
        raise Throttled(retry_at)
    user = db_session.scalar(select(User).where(User.email == email))
    try:
        HASHER.verify(user.password_hash if user else _DUMMY_HASH, password)
        ok = user is not None and user.active
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok:
        attempt.record_failure(now)
        db_session.flush()
        raise AuthError("That e-mail and password do not match an active account.")
    attempt.record_success()
    db_session.flush()
    assert user is not None  # ok above means there is a user
    return user


def end_sessions(db_session: Session, user: User) -> None:
    """Sign the user out everywhere: every session cookie issued so far stops working."""
    user.session_version += 1
    db_session.flush()


def set_password(db_session: Session, user: User, password: str) -> None:
    """Give the user a new password and end all their sessions."""
    if len(password) < 10:
        raise AuthError("the password must have at least 10 characters.")
    user.password_hash = HASHER.hash(password)
    end_sessions(db_session, user)


def deactivate(db_session: Session, user: User) -> None:
    """Stop the user signing in or using API tokens, and end all their sessions."""
    user.active = False
    end_sessions(db_session, user)


def user_for_session(db_session: Session, session_id: str) -> User | None:
    """The active user a session's id (`<user id>.<session version>`) still stands for."""
    user_id, _, version = session_id.partition(".")
    found_id, found_version = parse_id(user_id), parse_number(version)
    if found_id is None or found_version is None:
        return None
    user = db_session.get(User, found_id)
    if user is None or not user.active or user.session_version != found_version:
        return None
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(db_session: Session, *, user: User, now: datetime) -> str:
    """Make a new API token; only its hash is kept, so it is shown once."""
    token = "comms_" + secrets.token_urlsafe(32)
    db_session.add(ApiToken(user_id=user.id, token_hash=_digest(token), created_at=now))
    db_session.flush()
    return token


def user_for_token(db_session: Session, *, token: str, now: datetime) -> User | None:
    api_token = db_session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(token)))
    if api_token is None or not api_token.user.active:
        return None
    api_token.last_used_at = now
    return api_token.user


def user_by_email(db_session: Session, email: str) -> User | None:
    return db_session.scalar(select(User).where(User.email == email.strip().lower()))


def staff(db_session: Session) -> list[User]:
    return list(db_session.scalars(select(User).where(User.active).order_by(User.name)))
