"""Template filters: times in the configured zone, ages and countdowns."""

from __future__ import annotations

from datetime import datetime

from flask import Flask

from comms.web import context


def _span(seconds: float) -> str:
    minutes = int(abs(seconds) // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    return f"{hours // 24} days"


def local(moment: datetime | None, fmt: str = "%a %d %b %H:%M %Z") -> str:
    """A time in the configured zone, the zone named."""
    if moment is None:
        return "—"
    return moment.astimezone(context.settings().web.tz).strftime(fmt)


def ago(moment: datetime | None) -> str:
    if moment is None:
        return "—"
    return _span((context.now() - moment).total_seconds()) + " ago"


def until(moment: datetime | None) -> str:
    """A countdown to a time, or how long it is overdue."""
    if moment is None:
        return "none scheduled"
    seconds = (moment - context.now()).total_seconds()
    return f"in {_span(seconds)}" if seconds >= 0 else f"{_span(seconds)} overdue"


def overdue(moment: datetime | None) -> bool:
    return moment is not None and moment < context.now()


def init_app(app: Flask) -> None:
    for name, function in {"local": local, "ago": ago, "until": until}.items():
        app.add_template_filter(function, name)
    app.add_template_test(overdue, "overdue")
