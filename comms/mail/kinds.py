"""The registry of e-mail kinds: every e-mail comms sends is declared here once.

A kind's three templates live in `templates/email/<name>/` (`subject.txt`, `body.txt`,
`body.html`). Client kinds go to the contacts of an incident through the delivery ledger and
share one context (comms/updates/messages.py); staff kinds go to the comms manager or the report
owner, each with the context its sender builds. The renderer, the start-up check, publishing
and the sender read what they need from here, so a new kind of client notice is one entry
(`register`) and its three templates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Audience = Literal["client", "staff"]


@dataclass(frozen=True)
class EmailKind:
    """What comms needs to know about one kind of e-mail.

    `plans_next_update`: sending it plans the next regular update (initial, update, overnight);
    a kind that does not leaves the schedule as it was. `ends_updates`: it is the last word to
    clients (resolved): no update follows it, and an uncertain delivery is sent once more.
    `supersedes`: its publication supersedes older messages still waiting to go out.
    `sample_message`: the status text the start-up check and the previews render it with.
    """

    name: str
    audience: Audience
    plans_next_update: bool = False
    ends_updates: bool = False
    supersedes: bool = True
    sample_message: str = ""


SAMPLE_UPDATE = (
    "Some client websites are loading slowly or timing out.\n"
    "Our hosting team has found an overloaded database server and is moving sites to a "
    "healthy one.\n\nNo data has been lost."
)

_REGISTRY: dict[str, EmailKind] = {}


def register(kind: EmailKind) -> EmailKind:
    """Declare a kind (its templates must exist in the template folder); return it."""
    _REGISTRY[kind.name] = kind
    return kind


def unregister(name: str) -> None:
    """Forget a kind declared at run time (the tests add and remove one)."""
    _REGISTRY.pop(name, None)


def get(name: str) -> EmailKind | None:
    return _REGISTRY.get(name)


def names(audience: Audience | None = None) -> tuple[str, ...]:
    """The kinds declared, in declaration order, of one audience or all."""
    return tuple(k.name for k in _REGISTRY.values() if audience in (None, k.audience))


register(
    EmailKind(
        "initial",
        "client",
        plans_next_update=True,
        sample_message="Some client websites are loading slowly or timing out.\n"
        "Our hosting team is investigating the cause.",
    )
)
register(EmailKind("update", "client", plans_next_update=True, sample_message=SAMPLE_UPDATE))
register(EmailKind("overnight", "client", plans_next_update=True, sample_message=SAMPLE_UPDATE))
register(
    EmailKind(
        "resolved",
        "client",
        ends_updates=True,
        sample_message="All websites have been moved to a healthy database server and have "
        "loaded normally for the last hour.\n\nNo data was lost.",
    )
)
register(EmailKind("reminder", "staff"))
register(EmailKind("followup_draft", "staff"))
register(EmailKind("followup_review", "staff"))
