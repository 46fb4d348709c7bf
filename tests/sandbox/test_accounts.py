"""Organizations, users, memberships and search through zenpy over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests
from zenpy import Zenpy
from zenpy.lib.api_objects import Organization, User
from zenpy.lib.exception import RecordNotFoundException

from comms.sandbox import Sandbox


def test_org_users_cursor_pagination_and_role_filter(
    zd: Zenpy, http: requests.Session, sandbox: Sandbox
) -> None:
    org = sandbox.store.add_organization(name="North Vale Council")
    for i in range(250):
        sandbox.store.add_user(
            name=f"User {i}", email=f"u{i}@nvc.gov.uk", organization_ids=[org["id"]]
        )
    sandbox.store.add_user(
        name="Agent", email="agent@agency.test", role="agent", organization_ids=[org["id"]]
    )
    sandbox.reset_request_count()
    users = list(zd.organizations.users(org["id"]))
    assert len({u.id for u in users}) == 251
    assert sandbox.request_count == 3
    url = f"{sandbox.url}/api/v2/organizations/{org['id']}/users.json"
    page = http.get(url, params={"role": "end-user", "page[size]": 100}).json()
    assert len(page["users"]) == 100 and page["meta"]["has_more"] is True
    assert page["links"]["next"].startswith(sandbox.url)
    agents = http.get(url, params={"role[]": ["agent", "admin"]}).json()
    assert [u["name"] for u in agents["users"]] == ["Agent"]


def test_memberships_default_org_and_lookups(
    zd: Zenpy, http: requests.Session, sandbox: Sandbox
) -> None:
    store = sandbox.store
    museum = store.add_organization(name="Harbourside Museum")
    trust = store.add_organization(name="Kestrel Housing Trust")
    user = store.add_user(
        name="Jo Hill",
        email="jo@hm.org.uk",
        organization_ids=[museum["id"], trust["id"]],
        tags=["senior_stakeholder"],
    )
    assert zd.users(id=user["id"]).organization_id == museum["id"]
    members = list(zd.users.organization_memberships(user["id"]))
    assert [(m.organization_id, m.default) for m in members] == [
        (museum["id"], True),
        (trust["id"], False),
    ]
    assert [m.user_id for m in zd.organizations.organization_memberships(trust["id"])] == [
        user["id"]
    ]
    assert len(list(zd.organization_memberships())) == 2
    assert [i.value for i in zd.users.identities(id=user["id"])] == ["jo@hm.org.uk"]
    sandbox.index_now()  # this test needs an instant search index
    assert [u.id for u in zd.users.search(query="email:jo@hm.org.uk")] == [user["id"]]
    assert zd.users.me().role == "admin"
    found = http.get(
        f"{sandbox.url}/api/v2/organizations/search.json", params={"name": "harbourside museum"}
    ).json()
    assert [o["id"] for o in found["organizations"]] == [museum["id"]]
    auto = http.get(
        f"{sandbox.url}/api/v2/organizations/autocomplete", params={"name": "Kes"}
    ).json()
    assert [o["name"] for o in auto["organizations"]] == ["Kestrel Housing Trust"]
    assert auto["count"] == 1 and auto["next_page"] is None


def test_org_and_user_create_show_many(zd: Zenpy) -> None:
    org = zd.organizations.create(Organization(name="Quayside Gallery", tags=["platform_drupal"]))
    user = zd.users.create(User(name="Max", email="max@quayside.test", organization_id=org.id))
    assert [o.id for o in zd.organizations(ids=[org.id])] == [org.id]
    assert [u.organization_id for u in zd.users(ids=[user.id])] == [org.id]
    assert zd.organizations(id=org.id).tags == ["platform_drupal"]
    with pytest.raises(RecordNotFoundException):
        zd.users(id=123)


def test_search_syntax(zd: Zenpy, sandbox: Sandbox) -> None:
    store = sandbox.store
    acme = store.add_organization(name="Acme Inc", tags=["priority_client"])
    other = store.add_organization(name="Other Ltd")
    ann = store.add_user(
        name="Ann Acme",
        email="ann@acme.test",
        organization_ids=[acme["id"]],
        tags=["senior_stakeholder"],
    )
    bob = store.add_user(name="Bob Other", email="bob@other.test", organization_ids=[other["id"]])
    now = datetime.now(UTC)
    old = store.add_ticket(
        subject="Website down",
        requester_id=ann["id"],
        status="open",
        created_at=now - timedelta(days=3),
        tags=["outage"],
    )
    new = store.add_ticket(
        subject="Website down again", requester_id=ann["id"], created_at=now - timedelta(minutes=5)
    )
    store.add_ticket(
        subject="Invoice query",
        requester_id=bob["id"],
        status="solved",
        created_at=now - timedelta(days=2),
    )

    def ids(query: str, **kw: object) -> list[int]:
        return [r.id for r in zd.search(query, **kw)]

    sandbox.index_now()  # this test needs an instant search index

    assert ids("website", type="ticket") == [old["id"], new["id"]]
    assert ids('"down again"') == [new["id"]]
    assert len(ids("", type="ticket", status_less_than="solved")) == 2
    assert ids("status>new status<solved type:ticket") == [old["id"]]
    assert ids("status:open") == [old["id"]]
    since = (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert ids(f"type:ticket created>{since}") == [new["id"]]
    assert ids("", type="ticket", created_after=(now - timedelta(days=1)).date()) == [new["id"]]
    assert ids('type:ticket organization:"Acme Inc"') == [old["id"], new["id"]]
    assert ids(f"type:user organization:{acme['id']}") == [ann["id"]]
    assert ids("type:ticket tags:outage") == [old["id"]]
    assert ids('type:ticket -tags:outage organization:"Acme Inc"') == [new["id"]]
    assert ids("type:user tags:senior_stakeholder") == [ann["id"]]
    assert ids("type:organization tags:priority_client") == [acme["id"]]
    assert {type(r).__name__ for r in zd.search("acme")} == {"User", "Organization"}


def test_search_pages_and_1000_limit(http: requests.Session, sandbox: Sandbox) -> None:
    for i in range(1050):
        sandbox.store.add_ticket(subject=f"Site down {i}")
    sandbox.index_now()  # this test needs an instant search index
    url = f"{sandbox.url}/api/v2/search.json"
    first = http.get(url, params={"query": "type:ticket", "per_page": 100}).json()
    assert first["count"] == 1050 and len(first["results"]) == 100
    assert first["results"][0]["result_type"] == "ticket"
    assert first["next_page"].startswith(f"{url}?") and first["previous_page"] is None
    tenth = http.get(url, params={"query": "type:ticket", "page": 10}).json()
    assert tenth["next_page"] is not None
    over = http.get(tenth["next_page"])
    assert over.status_code == 422
    assert over.json() == {
        "error": "invalid",
        "description": "Invalid search: Requested response size was greater than "
        "Search Response Limits",
    }


def test_search_finds_a_change_only_once_indexed(zd: Zenpy, sandbox: Sandbox) -> None:
    store = sandbox.store
    sandbox.set_index_delay(3600)  # "a few minutes", made an hour so that no test outruns it
    old = store.add_ticket(
        subject="Sundown festival site", created_at=datetime.now(UTC) - timedelta(hours=2)
    )
    new = store.add_ticket(subject="Our site is down")

    def ids(query: str) -> list[int]:
        return [r.id for r in zd.search(query, type="ticket")]

    assert ids("site") == [old["id"]]  # the new ticket is not indexed yet
    store.update_ticket(old["id"], {"status": "solved"})
    assert [r.status for r in zd.search("site", type="ticket")] == ["new"]  # the indexed copy
    assert ids("status<solved") == [old["id"]]
    sandbox.index_now()
    assert ids("site") == [old["id"], new["id"]]
    assert ids("down") == [new["id"]]  # whole words: "Sundown" is not "down"
    assert ids("sun*") == [old["id"]]  # a prefix with *
    assert ids('"is down"') == [new["id"]] and ids('"down is"') == []  # a phrase, in order
    assert ids("status<solved") == [new["id"]]


def test_deleted_users_disappear_from_lists_and_show_many(
    zd: Zenpy, http: requests.Session, sandbox: Sandbox
) -> None:
    org = sandbox.store.add_organization(name="Quay")
    stay = sandbox.store.add_user(name="Stay", email="stay@quay.test", organization_ids=[org["id"]])
    gone = sandbox.store.add_user(name="Gone", email="gone@quay.test", organization_ids=[org["id"]])
    assert http.delete(f"{sandbox.url}/api/v2/users/{gone['id']}.json").ok
    assert [u.id for u in zd.organizations.users(org["id"])] == [stay["id"]]
    assert [u.id for u in zd.users(ids=[stay["id"], gone["id"]])] == [stay["id"]]
