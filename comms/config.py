"""Read config.toml into typed, frozen settings, with one clear message per bad key."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

SEVERITIES = ("critical", "major", "minor", "trivial")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Postfix refuses a 51st connection from one client (smtpd_client_connection_count_limit = 50).
MAX_SMTP_CONNECTIONS = 50
ENV_SECRETS = {
    "COMMS_SECRET_KEY": ("web", "secret_key"),
    "COMMS_ZENDESK_TOKEN": ("zendesk", "token"),
    "COMMS_SMTP_PASSWORD": ("smtp", "password"),
    "COMMS_WEBHOOK_SECRET": ("zendesk", "webhook_secret"),
    "COMMS_INCIDENT_IO_API_KEY": ("incident_io", "api_key"),
    "COMMS_INCIDENT_IO_WEBHOOK_SECRET": ("incident_io", "webhook_secret"),
    "COMMS_SLACK_BOT_TOKEN": ("slack", "bot_token"),
    "COMMS_SLACK_SIGNING_SECRET": ("slack", "signing_secret"),
}


class ConfigError(Exception):
    """The configuration is wrong; the message names the key, its value and what is expected."""


@dataclass(frozen=True)
class WebSettings:
    base_url: str = "http://127.0.0.1:5000"
    secret_key: str = ""
    timezone: str = "Europe/London"
    company_name: str = "Example Agency"
    business_units: tuple[str, ...] = ("Hosting", "Development", "Support")
    email_templates: str = ""
    trusted_proxies: int = 0
    demo: bool = False

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = "sqlite:///instance/comms.sqlite"


@dataclass(frozen=True)
class ZendeskSettings:
    subdomain: str = ""
    email: str = ""
    token: str = ""
    url: str = ""
    webhook_secret: str = ""
    timeout: float = 15.0
    rate_limit_wait_seconds: int = 60
    concurrency: int = 4
    candidate_lookback_minutes: int = 120
    # The scheduler polls Zendesk for candidate tickets of each open incident this often (0: off).
    candidate_poll_minutes: int = 5

    @property
    def configured(self) -> bool:
        return bool((self.subdomain or self.url) and self.email and self.token)

    @property
    def agent_url(self) -> str:
        """Where a human opens tickets: the sandbox's own address or the real account."""
        if self.url:
            return self.url.rstrip("/")
        return f"https://{self.subdomain}.zendesk.com"


@dataclass(frozen=True)
class SmtpSettings:
    backend: str = "outbox"
    host: str = "127.0.0.1"
    port: int = 25
    username: str = ""
    password: str = ""
    starttls: bool = False
    ssl: bool = False
    timeout: float = 30.0
    from_address: str = "Example Agency Support <support@example.com>"
    reply_to: str = "support@example.com"
    outbox_dir: str = "instance/outbox"
    max_per_second: float = 0.0
    connections: int = 4
    # 0: the scheduler sends in threads of its own process; N: in N processes of its own,
    # sharing the connections (and max_per_second) between them.
    sender_processes: int = 0


@dataclass(frozen=True)
class ScheduleSettings:
    cadence_minutes: dict[str, int] = field(
        default_factory=lambda: {"critical": 60, "major": 60, "minor": 60, "trivial": 0}
    )
    working_hours: str = "10:00-18:00"
    working_days: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri")
    reminder_minutes_before: int = 10
    tick_seconds: int = 30

    @property
    def working_window(self) -> tuple[tuple[int, int], tuple[int, int]]:
        start, end = self.working_hours.split("-")
        return _hhmm(start), _hhmm(end)


@dataclass(frozen=True)
class WorkerSettings:
    lease_seconds: int = 30
    poll_seconds: float = 1.0


@dataclass(frozen=True)
class ContactsSettings:
    regular: str = "all"
    regular_tag: str = "regular_contact"
    senior_tag: str = "senior_stakeholder"
    senior_at: tuple[str, ...] = ("critical", "major")
    priority_org_tags: tuple[str, ...] = ("priority_client",)


@dataclass(frozen=True)
class IncidentIoSettings:
    api_key: str = ""
    webhook_secret: str = ""
    url: str = "https://api.incident.io"
    timeout: float = 10.0
    # Which incidents comms takes up: "all", "custom_field" (take_up_field = take_up_value),
    # or "none" (listed as declared in incident.io, taken up with one click).
    take_up: str = "all"
    take_up_field: str = "Clients affected"
    take_up_value: str = "yes"
    severity_by_rank: dict[str, str] = field(
        default_factory=lambda: {"1": "trivial", "2": "minor", "3": "major", "4": "critical"}
    )
    status_by_name: dict[str, str] = field(
        default_factory=lambda: {
            "investigating": "investigating",
            "identified": "identified",
            "fixing": "identified",
            "monitoring": "monitoring",
        }
    )
    status_by_category: dict[str, str] = field(
        default_factory=lambda: {
            "triage": "investigating",
            "live": "investigating",
            "learning": "resolved",
            "closed": "resolved",
        }
    )
    lead_role: str = "lead"
    resolution: str = "ask"
    poll_minutes: int = 3
    # Severity and status changed in comms are sent to incident.io too (default: not).
    push_changes: bool = False

    @property
    def configured(self) -> bool:
        return bool(self.api_key)


@dataclass(frozen=True)
class SlackSettings:
    bot_token: str = ""
    signing_secret: str = ""
    url: str = "https://slack.com/api"
    timeout: float = 10.0

    @property
    def configured(self) -> bool:
        return bool(self.bot_token)


@dataclass(frozen=True)
class Settings:
    web: WebSettings = field(default_factory=WebSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    zendesk: ZendeskSettings = field(default_factory=ZendeskSettings)
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)
    worker: WorkerSettings = field(default_factory=WorkerSettings)
    contacts: ContactsSettings = field(default_factory=ContactsSettings)
    incident_io: IncidentIoSettings = field(default_factory=IncidentIoSettings)
    slack: SlackSettings = field(default_factory=SlackSettings)
    source: str = "embedded defaults"


SECTIONS = {
    "web": WebSettings,
    "database": DatabaseSettings,
    "zendesk": ZendeskSettings,
    "smtp": SmtpSettings,
    "schedule": ScheduleSettings,
    "worker": WorkerSettings,
    "contacts": ContactsSettings,
    "incident_io": IncidentIoSettings,
    "slack": SlackSettings,
}
STATUSES = ("investigating", "identified", "monitoring", "resolved")


def _hhmm(text: str) -> tuple[int, int]:
    hours, minutes = text.strip().split(":")
    return int(hours), int(minutes)


def _fail(key: str, value: Any, expected: str) -> None:
    raise ConfigError(f"{key} = {value!r} is not valid: expected {expected}.")


def _check_value(key: str, value: Any, default: Any) -> Any:
    """Check one value against the type of its default, converting lists to tuples."""
    if isinstance(default, bool):
        if not isinstance(value, bool):
            _fail(key, value, "true or false")
    elif isinstance(default, int | float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            _fail(key, value, "a number")
        if value < 0:
            _fail(key, value, "a number of zero or more")
        return type(default)(value)
    elif isinstance(default, str):
        if not isinstance(value, str):
            _fail(key, value, "a quoted string")
    elif isinstance(default, tuple):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            _fail(key, value, 'a list of strings, like ["a", "b"]')
        return tuple(value)
    elif isinstance(default, dict) and not isinstance(value, dict):
        _fail(key, value, "a table, like { name = value }")
    return value


def _validate(settings: Settings) -> None:
    """Check the rules that span more than a value's type."""
    web, smtp, schedule, contacts, zendesk = (
        settings.web,
        settings.smtp,
        settings.schedule,
        settings.contacts,
        settings.zendesk,
    )
    if not re.match(r"^https?://[^/\s]+", web.base_url):
        _fail("web.base_url", web.base_url, "an http:// or https:// address")
    try:
        ZoneInfo(web.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        _fail("web.timezone", web.timezone, 'an IANA time zone such as "Europe/London"')
    if web.email_templates and not Path(web.email_templates).is_dir():
        _fail("web.email_templates", web.email_templates, "a folder holding your e-mail templates")
    if not re.match(r"^(sqlite|postgresql)(\+\w+)?://", settings.database.url):
        _fail("database.url", settings.database.url, "a sqlite:/// or postgresql+psycopg:// URL")
    if zendesk.url and zendesk.subdomain:
        _fail("zendesk.url", zendesk.url, "empty when zendesk.subdomain is set (choose one)")
    for key in ("from_address", "reply_to"):
        value = getattr(smtp, key)
        if not re.match(r"^([^\r\n<>]*<)?[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+>?$", value):
            _fail(f"smtp.{key}", value, 'an address like "Support <support@example.com>"')
    if zendesk.url and not re.match(r"^https?://[^/\s]+", zendesk.url):
        _fail("zendesk.url", zendesk.url, "an address like http://127.0.0.1:8765, or empty")
    if zendesk.subdomain and not re.match(r"^[a-z0-9][a-z0-9-]*$", zendesk.subdomain):
        _fail("zendesk.subdomain", zendesk.subdomain, 'the name before ".zendesk.com", like "acme"')
    if zendesk.concurrency < 1:
        _fail("zendesk.concurrency", zendesk.concurrency, "1 or more")
    if zendesk.candidate_poll_minutes < 0:
        _fail("zendesk.candidate_poll_minutes", zendesk.candidate_poll_minutes, "0 (off) or more")
    if smtp.backend not in ("smtp", "outbox"):
        _fail("smtp.backend", smtp.backend, '"smtp" or "outbox"')
    if smtp.starttls and smtp.ssl:
        _fail("smtp.ssl", smtp.ssl, "false when smtp.starttls is true (choose one)")
    if not 0 < smtp.port < 65536:
        _fail("smtp.port", smtp.port, "a port number from 1 to 65535")
    if smtp.timeout <= 0:
        _fail("smtp.timeout", smtp.timeout, "a number of seconds above zero")
    if not 1 <= smtp.connections <= MAX_SMTP_CONNECTIONS:
        _fail("smtp.connections", smtp.connections, f"1 to {MAX_SMTP_CONNECTIONS} connections")
    if not 0 <= smtp.sender_processes <= smtp.connections:
        _fail("smtp.sender_processes", smtp.sender_processes, "0 to smtp.connections")
    for severity, minutes in schedule.cadence_minutes.items():
        if severity not in SEVERITIES:
            _fail(
                f"schedule.cadence_minutes.{severity}", minutes, f"one of {', '.join(SEVERITIES)}"
            )
        if not isinstance(minutes, int) or isinstance(minutes, bool) or minutes < 0:
            _fail(f"schedule.cadence_minutes.{severity}", minutes, "whole minutes, 0 for none")
    if not re.match(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$", schedule.working_hours):
        _fail("schedule.working_hours", schedule.working_hours, 'a range like "10:00-18:00"')
    start, end = schedule.working_window
    if start >= end:
        _fail("schedule.working_hours", schedule.working_hours, "a start before the end")
    for day in schedule.working_days:
        if day not in WEEKDAYS:
            _fail("schedule.working_days", list(schedule.working_days), f"days from {WEEKDAYS}")
    if settings.worker.lease_seconds < 3:
        _fail("worker.lease_seconds", settings.worker.lease_seconds, "3 seconds or more")
    if not 0.1 <= settings.worker.poll_seconds <= 60:
        _fail("worker.poll_seconds", settings.worker.poll_seconds, "0.1 to 60 seconds")
    if not 1 <= schedule.tick_seconds <= 30:
        _fail("schedule.tick_seconds", schedule.tick_seconds, "1 to 30 seconds")
    if contacts.regular not in ("all", "tagged"):
        _fail("contacts.regular", contacts.regular, '"all" or "tagged"')
    for severity in contacts.senior_at:
        if severity not in SEVERITIES:
            _fail("contacts.senior_at", list(contacts.senior_at), f"severities from {SEVERITIES}")


def _validate_integrations(settings: Settings) -> None:
    """incident.io's mapping onto comms' words, and the addresses of both services."""
    incident_io, slack = settings.incident_io, settings.slack
    for key, value in (("incident_io.url", incident_io.url), ("slack.url", slack.url)):
        if not re.match(r"^https?://[^/\s]+", value):
            _fail(key, value, "an http:// or https:// address")
    if incident_io.take_up not in ("all", "custom_field", "none"):
        _fail("incident_io.take_up", incident_io.take_up, '"all", "custom_field" or "none"')
    if incident_io.resolution not in ("ask", "automatic"):
        _fail("incident_io.resolution", incident_io.resolution, '"ask" or "automatic"')
    if incident_io.poll_minutes < 1:
        _fail("incident_io.poll_minutes", incident_io.poll_minutes, "1 or more minutes")
    if not incident_io.severity_by_rank:
        _fail("incident_io.severity_by_rank", {}, 'at least one rank, like { "1" = "minor" }')
    for rank, severity in incident_io.severity_by_rank.items():
        if not rank.isdigit() or severity not in SEVERITIES:
            _fail(f"incident_io.severity_by_rank.{rank}", severity, f"a rank = {SEVERITIES}")
    for table in ("status_by_name", "status_by_category"):
        for name, status in getattr(incident_io, table).items():
            if status not in STATUSES:
                _fail(f"incident_io.{table}.{name}", status, f"one of {', '.join(STATUSES)}")


def from_mapping(data: dict[str, Any], source: str = "mapping") -> Settings:
    """Build settings from a parsed TOML document, refusing unknown or mistyped keys."""
    sections: dict[str, Any] = {}
    for name, section in data.items():
        if name not in SECTIONS:
            _fail(name, section, f"a section from [{'], ['.join(SECTIONS)}]")
        if not isinstance(section, dict):
            _fail(name, section, f"a [{name}] table")
        cls = SECTIONS[name]
        defaults = cls()
        known = {f.name for f in fields(cls)}
        values = {}
        for key, value in section.items():
            if key not in known:
                _fail(
                    f"{name}.{key}",
                    value,
                    f"one of the keys of [{name}]: {', '.join(sorted(known))}",
                )
            values[key] = _check_value(f"{name}.{key}", value, getattr(defaults, key))
        if name == "schedule" and "cadence_minutes" in values:
            values["cadence_minutes"] = {**defaults.cadence_minutes, **values["cadence_minutes"]}
        sections[name] = replace(defaults, **values)
    settings = Settings(**sections, source=source)
    _validate(settings)
    _validate_integrations(settings)
    return settings


def with_env_secrets(settings: Settings, environ: dict[str, str]) -> Settings:
    """Let secrets come from the environment, so they need not sit in a file."""
    for variable, (section, key) in ENV_SECRETS.items():
        if environ.get(variable):
            part = replace(getattr(settings, section), **{key: environ[variable]})
            settings = replace(settings, **{section: part})
    return settings


def load(
    path: str | os.PathLike[str] | None = None, environ: dict[str, str] | None = None
) -> Settings:
    """Load `$COMMS_CONFIG` (default ./config.toml); embedded defaults when there is no file."""
    environ = dict(os.environ if environ is None else environ)
    config_path = Path(path or environ.get("COMMS_CONFIG") or "config.toml")
    if config_path.exists():
        try:
            data = tomllib.loads(config_path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"{config_path} is not valid TOML: {error}.") from None
        settings = from_mapping(data, source=str(config_path))
    elif path or environ.get("COMMS_CONFIG"):
        raise ConfigError(f"{config_path} does not exist: create it from config.example.toml.")
    else:
        settings = Settings()
    return with_env_secrets(settings, environ)
