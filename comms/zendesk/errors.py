"""Zendesk failures as exceptions whose message can be shown to the comms manager as it is."""

from __future__ import annotations

import json
from typing import Any

import requests
from zenpy.lib.exception import (
    APIException,
    RatelimitBudgetExceeded,
    RecordNotFoundException,
    ZenpyException,
)


class ZendeskError(Exception):
    """Any failure talking to Zendesk; the message is fit for the UI."""


class ZendeskNotFound(ZendeskError):
    """The record does not exist (or this account cannot see it)."""


class TicketNotFound(ZendeskNotFound):
    """The ticket does not exist (or this account cannot see it)."""


class ZendeskUnavailable(ZendeskError):
    """Zendesk could not be reached, timed out or kept answering with server errors."""


class ZendeskRateLimited(ZendeskError):
    """Zendesk kept refusing requests for being over the rate limit."""


class JobUnfinished(ZendeskError):
    """Zendesk accepted a bulk job but did not finish it in time; its outcome is unknown."""


class ZendeskRefused(ZendeskError):
    """Zendesk refused the credentials or the permission."""


def _body(response: requests.Response | None) -> dict[str, Any]:
    """Return the JSON error body, or an empty dict when there is none."""
    if response is None:
        return {}
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def describe_body(body: dict[str, Any]) -> str:
    """Turn a Zendesk error body into one readable sentence."""
    details = body.get("details")
    if isinstance(details, dict):
        parts = []
        for field, problems in details.items():
            for problem in problems if isinstance(problems, list) else [problems]:
                text = problem.get("description") if isinstance(problem, dict) else problem
                parts.append(f"{field}: {text}" if field != "base" else str(text))
        if parts:
            return "; ".join(parts)
    description = body.get("description") or body.get("message")
    error = body.get("error")
    if isinstance(error, dict):
        description = description or error.get("message") or error.get("title")
        error = error.get("title")
    return str(description or error or "no reason given")


def _connection_reason(error: Exception) -> str:
    text = str(error).lower()
    if "refused" in text:
        return "connection refused"
    if "name or service not known" in text or "nodename nor servname" in text:
        return "the host name does not resolve"
    if "ssl" in text or "certificate" in text:
        return "the TLS handshake failed"
    return "the connection failed"


def translate(
    error: Exception,
    *,
    address: str,
    email: str,
    timeout: float,
    budget: int,
    not_found: ZendeskError | None,
    action: str | None = None,
) -> ZendeskError | None:
    """Map a zenpy or requests exception to the matching ZendeskError; None if foreign."""
    if isinstance(error, ZendeskError):
        return error
    if isinstance(error, RatelimitBudgetExceeded):
        return ZendeskRateLimited(f"Zendesk is limiting requests; gave up after {budget} s")
    if isinstance(error, requests.Timeout):
        return ZendeskUnavailable(f"Zendesk at {address} did not answer within {timeout:g} s")
    if isinstance(error, requests.ConnectionError):
        reason = _connection_reason(error)
        return ZendeskUnavailable(f"Zendesk cannot be reached at {address}: {reason}")
    response = getattr(error, "response", None)
    if isinstance(error, APIException | requests.HTTPError) and response is not None:
        return _from_status(
            error, response, address=address, email=email, not_found=not_found, action=action
        )
    if isinstance(error, ZenpyException | requests.RequestException):
        return ZendeskError(f"Zendesk request failed: {error}")
    return None


def _from_status(
    error: Exception,
    response: requests.Response,
    *,
    address: str,
    email: str,
    not_found: ZendeskError | None,
    action: str | None = None,
) -> ZendeskError:
    status = response.status_code
    body = _body(response)
    if status == 404 or isinstance(error, RecordNotFoundException):
        return not_found or ZendeskNotFound(f"Zendesk has no {response.url}")
    if status == 401:
        return ZendeskRefused(
            f"Zendesk refused the sign-in for {email}: check [zendesk] email and token"
        )
    if status == 403 and action:
        return ZendeskRefused(
            f"the Zendesk user {email} cannot {action}: give it an agent role that can"
        )
    if status == 403:
        return ZendeskRefused(
            f"the Zendesk user {email} may not do this: give it an agent or admin role"
        )
    if isinstance(body, dict) and body.get("error") == "TooManyJobs":
        return ZendeskRateLimited(
            "Zendesk has 30 bulk jobs queued or running on the account, the most it allows "
            "(other apps count too); try again in a few minutes"
        )
    if status == 429:
        wait = response.headers.get("Retry-After")
        later = f"retry in {wait} s" if wait else "try again shortly"
        return ZendeskRateLimited(f"Zendesk is limiting requests; {later}")
    if status >= 500:
        return ZendeskUnavailable(
            f"Zendesk at {address} keeps failing (HTTP {status}); try again in a few minutes"
        )
    return ZendeskError(f"Zendesk rejected the request (HTTP {status}): {describe_body(body)}")


def job_error(result: dict[str, Any]) -> str:
    """Describe a failed item of a job status's results."""
    error = result.get("error") or result.get("status") or "failed"
    details = result.get("details")
    if isinstance(details, dict):
        return f"{error}: {describe_body({'details': details})}"
    if details:
        return f"{error}: {details if isinstance(details, str) else json.dumps(details)}"
    return str(error)
