"""Render client e-mails from templates/email/<kind>/{subject.txt,body.txt,body.html}."""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from markupsafe import Markup, escape

from comms.config import Settings
from comms.mail import kinds
from comms.paths import templates_dir

PARTS = ("subject.txt", "body.txt", "body.html")


class TemplateProblem(Exception):
    """An e-mail template is missing or broken; the message names the file and the error."""


@dataclass(frozen=True)
class RenderedEmail:
    """One rendered e-mail: a single-line subject and its text and HTML bodies."""

    subject: str
    text: str
    html: str


def as_local(moment: datetime, zone: ZoneInfo) -> datetime:
    """Convert to the configured zone; a naive datetime is taken to be UTC (as SQLite stores)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone)


def zone_label(local: datetime, zone: ZoneInfo) -> str:
    """Name the zone as people say it ("GMT", "BST"), or by its IANA key when it has no name."""
    abbreviation = local.tzname() or ""
    if abbreviation and abbreviation[0] not in "+-":
        return abbreviation
    return f"({zone.key})"


def nl2br(text: str) -> Markup:
    """Escape text and keep its line breaks as <br> for HTML."""
    lines = str(text).strip().splitlines()
    return Markup("<br>\n").join(escape(line) for line in lines)


def paragraphs(text: str) -> list[str]:
    """Split text on blank lines into paragraphs, for HTML that keeps the author's layout."""
    blocks: list[list[str]] = [[]]
    for line in str(text).strip().splitlines():
        if line.strip():
            blocks[-1].append(line.rstrip())
        elif blocks[-1]:
            blocks.append([])
    return ["\n".join(block) for block in blocks if block]


def join_names(names: Any) -> str:
    """Join names as prose: "A", "A and B", "A, B and C"."""
    names = [str(name) for name in names]
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"


class _CompiledTemplates(jinja2.BytecodeCache):
    """Compiled templates kept for the life of the process, by name and source checksum.

    A renderer lives for one publish or one sending pass; without this each would compile
    the templates again (most of a publish's rendering). An edited template has another
    checksum, so it is compiled afresh.
    """

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if bucket.key in self._code:
            bucket.bytecode_from_string(self._code[bucket.key])

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


COMPILED = _CompiledTemplates()


class EmailRenderer:
    """A Jinja environment for e-mail only: autoescaped HTML, strict about undefined names."""

    def __init__(self, settings: Settings, templates_path: Path | None = None) -> None:
        self.settings = settings
        self.zone = settings.web.tz
        chosen = templates_path or settings.web.email_templates
        self.path = Path(chosen) if chosen else templates_dir() / "email"
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(self.path),
            autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            bytecode_cache=COMPILED,
            # A renderer lives for one pass or one preview: never stat a template file again
            # each time another includes it (a system call a message when sending).
            auto_reload=False,
        )
        self._templates: dict[str, jinja2.Template] = {}  # a renderer lives for one pass
        self._local_times: dict[datetime, str] = {}
        self.env.filters.update(
            localtime=self.localtime,
            localtime_short=self.localtime_short,
            nl2br=nl2br,
            paragraphs=paragraphs,
            join_names=join_names,
        )

    def localtime(self, moment: datetime) -> str:
        """Format as "14:00 GMT, Tuesday 3 March" in the configured zone."""
        if moment not in self._local_times:  # every contact of an update has the same times
            local = as_local(moment, self.zone)
            label = zone_label(local, self.zone)
            self._local_times[moment] = f"{local:%H:%M} {label}, {local:%A} {local.day} {local:%B}"
        return self._local_times[moment]

    def localtime_short(self, moment: datetime) -> str:
        """Format as "14:00 GMT" in the configured zone."""
        local = as_local(moment, self.zone)
        return f"{local:%H:%M} {zone_label(local, self.zone)}"

    def defaults(self) -> dict[str, Any]:
        """Context values that come from the configuration unless the caller gives them."""
        return {
            "timezone_name": self.settings.web.timezone,
            "company_name": self.settings.web.company_name,
            "base_url": self.settings.web.base_url,
            "support_address": self.settings.smtp.reply_to,
        }

    def render(self, kind: str, context: dict[str, Any]) -> RenderedEmail:
        """Render the three parts of one kind of e-mail; TemplateProblem on any template error."""
        if kinds.get(kind) is None:
            expected = ", ".join(kinds.names())
            raise TemplateProblem(f"there is no e-mail kind {kind!r}; expected one of {expected}")
        values = {**self.defaults(), **context}
        subject, text, html = (self._render_part(f"{kind}/{part}", values) for part in PARTS)
        return RenderedEmail(subject=" ".join(subject.split()), text=text, html=html)

    def _render_part(self, name: str, values: dict[str, Any]) -> str:
        try:
            if name not in self._templates:
                self._templates[name] = self.env.get_template(name)
            return self._templates[name].render(values)
        except jinja2.TemplateNotFound as error:
            missing = self.path / str(error.name)
            raise TemplateProblem(f"{missing}: the template is missing") from error
        except jinja2.TemplateSyntaxError as error:
            raise self._syntax_problem(error, name) from error
        except jinja2.TemplateError as error:
            where = self._location(error) or str(self.path / name)
            raise TemplateProblem(f"{where}: {error}") from error

    def _syntax_problem(self, error: jinja2.TemplateSyntaxError, name: str) -> TemplateProblem:
        where = error.filename or str(self.path / (error.name or name))
        return TemplateProblem(f"{where}, line {error.lineno}: {error.message}")

    def _location(self, error: Exception) -> str | None:
        """Find the template file and line where a rendering error happened."""
        frames = traceback.extract_tb(error.__traceback__)
        root = str(self.path)
        for frame in reversed(frames):
            if frame.filename.startswith(root):
                return f"{frame.filename}, line {frame.lineno}"
        return None

    def check_all(self) -> None:
        """Render every client kind once with sample data, so a broken template stops start-up.

        The staff e-mails (reminders, follow-ups) have other variables: they are compiled, so a
        syntax error in them stops start-up too.
        """
        for kind in kinds.names("client"):
            self.render(kind, self.sample_context(kind))
        for name in self.env.list_templates():
            try:
                self.env.get_template(name)
            except jinja2.TemplateSyntaxError as error:
                raise self._syntax_problem(error, name) from error

    def sample_context(self, kind: str) -> dict[str, Any]:
        """Return believable example values for previews and checks."""
        now = datetime.now(self.zone).replace(second=0, microsecond=0)
        next_update_at: datetime | None = now.replace(minute=0) + timedelta(hours=1)
        if kind == "overnight":
            next_update_at = (now + timedelta(days=1)).replace(hour=10, minute=0)
        elif getattr(kinds.get(kind), "ends_updates", False):
            next_update_at = None
        status = {"resolved": "resolved", "initial": "investigating"}.get(kind, "identified")
        return {
            **self.defaults(),
            "incident": {
                "reference": "INC-42",
                "title": "Websites on the shared hosting platform are slow to load",
                "severity": "major",
                "status": status,
            },
            "message": getattr(kinds.get(kind), "sample_message", "") or kinds.SAMPLE_UPDATE,
            "repeats_previous": kind == "update",
            "next_update_at": next_update_at,
            "contact": {"name": "Sam Taylor", "organisations": ["Acme Ltd", "Beta plc"]},
        }
