"""Create staff users, check passwords with throttling, and issue API tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from comms.auth.models import ApiToken, LoginFailure, Role, User

HASHER = PasswordHasher()  # Argon2id with the library's current recommended parameters
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_ADDRESS = 20
THROTTLE_WINDOW = timedelta(minutes=15)
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


def _throttle_until(
    db_session: Session, *, email: str, address: str, now: datetime
) -> datetime | None:
    since = now - THROTTLE_WINDOW
    recent = select(LoginFailure).where(LoginFailure.at > since)
    by_account = db_session.scalar(
        select(func.count()).select_from(recent.where(LoginFailure.email == email).subquery())
    )
    by_address = db_session.scalar(
        select(func.count()).select_from(recent.where(LoginFailure.address == address).subquery())
    )
    if (by_account or 0) < MAX_FAILURES_PER_ACCOUNT and (
        by_address or 0
    ) < MAX_FAILURES_PER_ADDRESS:
        return None
    oldest = db_session.scalar(
        select(func.min(LoginFailure.at)).where(
            LoginFailure.at > since,
            or_(LoginFailure.email == email, LoginFailure.address == address),
        )
    )
    return (oldest or now) + THROTTLE_WINDOW


def authenticate(
    db_session: Session, *, email: str, password: str, address: str, now: datetime
) -> User:
    """Return the user for these credentials, or raise AuthError / Throttled."""
    email = email.strip().lower()
    retry_at = _throttle_until(db_session, email=email, address=address, now=now)
    if retry_at is not None:
        raise Throttled(retry_at)
    user = db_session.scalar(select(User).where(User.email == email))
    try:
        HASHER.verify(user.password_hash if user else _DUMMY_HASH, password)
        ok = user is not None and user.active
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok:
        db_session.add(LoginFailure(email=email, address=address, at=now))
        db_session.flush()
        raise AuthError("That e-mail and password do not match an active account.")
    db_session.execute(delete(LoginFailure).where(LoginFailure.email == email))
    assert user is not None  # ok above means there is a user
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
