"""Demo data: a UK web agency's clients, their contacts, agents and a burst of outage tickets."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from .seed_names import (
    AGENTS,
    CLIENTS,
    FIRST,
    HOSTING,
    KINDS,
    LAST,
    OTHER,
    OUTAGE,
    PLACES,
    PLATFORMS,
)
from .store import API_EMAIL, Store


def _domain(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "", name.lower().replace("&", "and"))
    return f"{slug}.co.uk"


def _names(scale: dict[str, int] | None) -> list[str]:
    if not scale:
        return list(CLIENTS)
    wanted = int(scale.get("orgs", len(CLIENTS)))
    names = list(CLIENTS)
    for place in PLACES:
        for kind in KINDS:
            names.append(f"{place} {kind}")
    extra = 0
    while len(names) < wanted:
        extra += 1
        names.append(f"Client {extra:05d} Ltd")
    return names[:wanted]


def seed(
    store: Store, name: str = "demo", number: int = 1, scale: dict[str, int] | None = None
) -> dict[str, Any]:
    """Fill the store deterministically from (name, number); returns a summary."""
    if name != "demo":
        raise ValueError(f"unknown seed {name!r} (only 'demo')")
    rng = random.Random(f"{name}-{number}")
    now = datetime.now(UTC).replace(microsecond=0)
    with store.lock:
        me = store.users[store.api_user_id]
        if me["email"] == API_EMAIL:  # the demo agency's own admin is the API user
            store.emails.pop(me["email"].lower(), None)
            me.update(name=AGENTS[0][0], email=AGENTS[0][1])
            store.emails[AGENTS[0][1]] = me["id"]
        agents = [me["id"]] + [
            store.add_user(name=n, email=e, role=r)["id"] for n, e, r in AGENTS[1:]
        ]
        orgs, contacts = _people(store, rng, scale, now)
        tickets = _tickets(store, rng, contacts, agents, now, int((scale or {}).get("tickets", 30)))
    return {
        "organizations": len(orgs),
        "users": sum(len(c) for c in contacts.values()),
        "agents": len(agents),
        "tickets": tickets,
    }


def _people(
    store: Store, rng: random.Random, scale: dict[str, int] | None, now: datetime
) -> tuple[list[dict[str, Any]], dict[int, list[dict[str, Any]]]]:
    orgs: list[dict[str, Any]] = []
    contacts: dict[int, list[dict[str, Any]]] = {}
    per_org = int(scale["users"]) if scale and "users" in scale else None
    for org_name in _names(scale):
        tags = [rng.choice(PLATFORMS), rng.choice(HOSTING)]
        if rng.random() < 0.25:
            tags.append("priority_client")
        domain = _domain(org_name)
        org = store.add_organization(
            name=org_name,
            tags=tags,
            domain_names=[domain],
            created_at=now - timedelta(days=rng.randint(90, 2000)),
        )
        orgs.append(org)
        count = per_org if per_org is not None else rng.randint(3, 15)
        people, used = [], set()
        for i in range(count):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            local = f"{first}.{last}".lower()
            while local in used:
                local = f"{local}{i}"
            used.add(local)
            tags = []
            if i == 0 or rng.random() < 0.08:
                tags.append("senior_stakeholder")
            if rng.random() < 0.35:
                tags.append("regular_contact")
            email = None if rng.random() < 0.07 else f"{local}@{domain}"
            user = store.add_user(
                name=f"{first} {last}",
                email=email,
                organization_ids=[org["id"]],
                tags=tags,
                suspended=rng.random() < 0.05,
                created_at=now - timedelta(days=rng.randint(10, 900)),
            )
            people.append(user)
        contacts[org["id"]] = people
    for org in rng.sample(orgs, k=max(1, len(orgs) // 8)):
        other = rng.choice(orgs)
        if other["id"] != org["id"] and contacts[other["id"]]:
            person = rng.choice(contacts[other["id"]])
            if org["id"] not in store.user_org_ids(person["id"]):
                store.add_membership(person["id"], org["id"])
    _second_addresses(store, contacts)
    return orgs, contacts


def _second_addresses(store: Store, contacts: dict[int, list[dict[str, Any]]]) -> None:
    """Give every tenth person with an address a second one, as people who also write from home."""
    people = [p for people in contacts.values() for p in people if p["email"]]
    for person in people[::10]:
        local, _, domain = person["email"].partition("@")
        store.add_identity(person["id"], f"{local}.{domain.split('.')[0]}@home-mail.example")


def _tickets(
    store: Store,
    rng: random.Random,
    contacts: dict[int, list[dict[str, Any]]],
    agents: list[int],
    now: datetime,
    count: int,
) -> int:
    reachable = [
        (oid, u)
        for oid, people in contacts.items()
        for u in people
        if u["email"] and not u["suspended"]
    ]
    made = 0
    for minutes in sorted((rng.randint(1, 180) for _ in range(count)), reverse=True):
        oid, user = rng.choice(reachable)
        outage = rng.random() < 0.45
        subject = rng.choice(OUTAGE if outage else OTHER)
        body = (
            "Hi, our website has stopped working - visitors are seeing an error page. "
            "Can you look at this urgently?"
            if outage
            else f"Hello, {subject.lower()}. Thanks!"
        )
        created = now - timedelta(minutes=minutes)
        status = rng.choice(["new", "new", "open"] if outage else ["new", "open", "pending"])
        ticket = store.add_ticket(
            subject=subject,
            requester_id=user["id"],
            organization_id=oid,
            status=status,
            created_at=created,
            description=body,
            priority="high" if outage else "normal",
            assignee_id=rng.choice(agents) if status != "new" else None,
        )
        made += 1 if ticket else 0
    return made
