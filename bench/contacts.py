"""Benchmark: refresh the contacts of 300 organisations x 40 users under Zendesk's rate limit.

Measured side by side in one run (sandbox scale orgs=300, users=40, 50 ms latency,
concurrency 4; other engineers' work on the machine at the same time), with the gateway
pacing the account's and each endpoint's windows:
    no limit:  300 requests (minimum 300), 10.99 s
    200/min:   300 requests, 0 429s, 65.29 s; the limit allows 63.66 s: 1.03x
    700/min:   300 requests, 0 429s, 8.81 s; the limit allows 10.99 s: 0.80x
(the first run, without a limit, also pays for warming up: 700/min comes out faster)
"The limit allows": the full windows that must be waited out (200 of the 300 requests in the
first minute, so 60 s), then the rest at the speed measured without a limit. comms reads the
rate-limit headers and waits for the window to reset instead of being refused.

Run: .venv/bin/python bench/contacts.py   (add --zenpy for a plain zenpy loop, unlimited)
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from comms.config import Settings, ZendeskSettings
from comms.contacts import service
from comms.db import make_engine, make_sessionmaker, utcnow
from comms.incidents.models import Incident
from comms.migrate import upgrade
from comms.sandbox import Sandbox
from comms.zendesk import Gateway, Organization

LATENCY_MS = 50
SCALE = {"orgs": 300, "users": 40}
PLANS = (200, 700)  # requests a minute: Team, Enterprise
API_EMAIL = "agent@agency.test"


def minimum_requests(sandbox: Sandbox) -> int:
    """What the data needs: one page of 100 end-users per organisation, at least one each."""
    store = sandbox.store
    total = 0
    for org_id in store.orgs:
        end_users = [u for u in store.org_members(org_id) if u.get("role") == "end-user"]
        total += max(1, math.ceil(len(end_users) / 100))
    return total


def run_comms(sandbox: Sandbox, database_dir: str, name: str) -> tuple[int, float, int, int]:
    """Add every organisation to an incident and refresh: (requests, seconds, contacts, 429s)."""
    engine = make_engine(f"sqlite:///{database_dir}/{name}.sqlite")
    upgrade(engine)
    zendesk = ZendeskSettings(url=sandbox.url, email=API_EMAIL, token="sandbox")
    settings = Settings(zendesk=zendesk)
    orgs = [
        Organization(int(o["id"]), o["name"], tuple(o["tags"])) for o in sandbox.store.orgs.values()
    ]
    with make_sessionmaker(engine)() as db, Gateway(zendesk) as gateway:
        incident = Incident(title="Bench", severity="major", declared_at=utcnow(), keywords=[])
        db.add(incident)
        db.flush()
        service.add_organizations(
            db, incident, orgs, how="bench", by="bench", now=utcnow(), settings=settings
        )
        db.commit()
        limited = sandbox.stats()["rate_limited"]
        before, started = sandbox.request_count, time.perf_counter()
        result = service.refresh(db, gateway, incident, settings, now=utcnow())
        db.commit()
        seconds = time.perf_counter() - started
        assert result.ok, result.error
    engine.dispose()
    too_many = sandbox.stats()["rate_limited"] - limited
    return sandbox.request_count - before, seconds, result.contacts, too_many


def allowed_seconds(requests: int, per_minute: int, unlimited: float) -> float:
    """The least time the limit allows: full windows waited out, then the rest at full speed."""
    windows = math.ceil(requests / per_minute) - 1
    rest = requests - windows * per_minute
    return max(unlimited, windows * 60 + unlimited * rest / requests)


def run_zenpy(sandbox: Sandbox) -> tuple[int, float, int]:
    """The plain way: one organisation after another through zenpy; (requests, seconds, users)."""
    from zenpy import Zenpy

    os.environ["ZENPY_FORCE_SCHEME"] = "http"
    os.environ["ZENPY_FORCE_NETLOC"] = sandbox.netloc
    client = Zenpy(subdomain="sandbox", email=API_EMAIL, token="sandbox", disable_cache=True)
    org_ids = list(sandbox.store.orgs)
    before, started = sandbox.request_count, time.perf_counter()
    users = 0
    for org_id in org_ids:
        users += len(list(client.organizations.users(org_id)))
    return sandbox.request_count - before, time.perf_counter() - started, users


def main() -> None:
    sandbox = Sandbox(port=0, latency_ms=LATENCY_MS, scale=SCALE, api_email=API_EMAIL).start()
    try:
        needed = minimum_requests(sandbox)
        print(f"sandbox: {len(sandbox.store.orgs)} organisations, {LATENCY_MS} ms latency")
        with tempfile.TemporaryDirectory() as tmp:
            sandbox.set_rate_limit(None)
            requests, unlimited, contacts, _ = run_comms(sandbox, tmp, "unlimited")
            print(
                f"no limit:  {requests} requests (minimum {needed}), {unlimited:.2f} s, "
                f"{contacts} contacts"
            )
            for plan in PLANS:
                sandbox.set_rate_limit(plan)
                requests, seconds, contacts, too_many = run_comms(sandbox, tmp, f"plan{plan}")
                allowed = allowed_seconds(requests, plan, unlimited)
                print(
                    f"{plan}/min: {requests} requests, {too_many} 429s, {seconds:.2f} s; "
                    f"the limit allows {allowed:.2f} s: {seconds / allowed:.2f}x, "
                    f"{contacts} contacts"
                )
        if "--zenpy" in sys.argv:
            sandbox.set_rate_limit(None)
            z_requests, z_seconds, z_users = run_zenpy(sandbox)
            print(f"zenpy loop: {z_requests} requests, {z_seconds:.2f} s, {z_users} users")
    finally:
        sandbox.stop()


if __name__ == "__main__":
    main()
