"""Replay the recorded real Zendesk interactions against the sandbox and compare shapes."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from comms.sandbox import Sandbox

RECORDINGS = Path(__file__).parent / "recordings" / "interactions.jsonl"
MISSING_ID = 9223372036854775807
SKIPPED = {
    (
        "PUT",
        "/api/v2/tickets/{id}/comments/{id}/attachments/{id}/redact.json",
    ): "attachments and redaction are not emulated (comms never uploads files)",
    ("DELETE", "/api/v2/tickets/destroy_many.json"): "bulk delete is not used by comms",
    ("DELETE", "/api/v2/organizations/destroy_many.json"): "bulk delete is not used by comms",
    ("DELETE", "/api/v2/users/destroy_many.json"): "bulk delete is not used by comms",
    ("GET", "/api/v2/search/export.json"): "search export is not emulated (offset search is)",
    ("GET", "/api/v2/incremental/users/cursor.json"): "incremental exports are not emulated",
}
FREE_FORM = {"system", "custom", "organization_fields", "user_fields", "from", "to"}
# Keys real Zendesk sends that these recordings leave out (the spec's objects have them):
# a ticket's generated_timestamp (recorded in the incremental export only), a job status's
# job_type, a user's permanently_deleted.
NEWER_KEYS = {"generated_timestamp", "job_type", "permanently_deleted"}
RECORDS = [json.loads(line) for line in RECORDINGS.read_text().splitlines() if line.strip()]


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__


def compare(expected: Any, actual: Any, where: str) -> list[str]:
    """Differences in keys and value types (null on either side matches anything)."""
    if expected is None or actual is None:
        return []
    if _type_name(expected) != _type_name(actual):
        return [f"{where}: {_type_name(actual)} instead of {_type_name(expected)}"]
    if isinstance(expected, dict):
        if where.rsplit(".", 1)[-1] in FREE_FORM:
            return []
        problems = []
        if set(expected) != set(actual) - NEWER_KEYS:
            missing, extra = set(expected) - set(actual), set(actual) - set(expected) - NEWER_KEYS
            problems.append(f"{where}: missing {sorted(missing)} extra {sorted(extra)}")
        for key in set(expected) & set(actual):
            problems += compare(expected[key], actual[key], f"{where}.{key}")
        return problems
    if isinstance(expected, list) and expected and actual:
        problems = []
        for index, item in enumerate(actual):
            same = [
                e
                for e in expected
                if not isinstance(e, dict)
                or not isinstance(item, dict)
                or e.get("type") == item.get("type")
            ]
            if same:
                problems += compare(same[0], item, f"{where}[{index}]")
        return problems
    return []


class Replayer:
    """Maps recorded ids onto objects made in a fresh sandbox, then sends the request."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sb = sandbox
        self.ids: dict[int, int] = {MISSING_ID: MISSING_ID}
        self.made = 0

    def make(self, kind: str) -> int:
        self.made += 1
        store = self.sb.store
        if kind == "tickets":
            return store.add_ticket(subject="test", description="test")["id"]
        if kind == "organizations":
            return store.add_organization(name=f"Replay Org {self.made}")["id"]
        if kind == "job_statuses":
            job = store.start_job([1], lambda i, x: {"id": x, "index": i}, "Bulk create tickets")
            return job["id"]
        return store.add_user(name=f"User {self.made}")["id"]

    def map_id(self, kind: str, old: Any) -> Any:
        if kind == "job_statuses":
            return self.make(kind)
        old = int(old)
        if old not in self.ids:
            self.ids[old] = self.make(kind)
        return self.ids[old]

    def body(self, kind: str, value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: self.map_id(kind, v) if k == "id" and isinstance(v, int) else self.body(kind, v)
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [self.body(kind, v) for v in value]
        return value

    def send(self, rec: dict[str, Any]) -> requests.Response:
        kind = rec["path_template"].split("/")[3].removesuffix(".json")
        segments = rec["path"].split("/")
        for index, part in enumerate(segments):
            if re.fullmatch(r"\d+|V3-\w+", part.removesuffix(".json")) and index == 4:
                suffix = ".json" if part.endswith(".json") else ""
                segments[index] = f"{self.map_id(kind, part.removesuffix('.json'))}{suffix}"
        path, query = "/".join(segments), rec["query"]
        if query.startswith("ids="):
            query = "ids=" + ",".join(str(self.map_id(kind, i)) for i in query[4:].split(","))
        session = requests.Session()
        session.auth = ("agent@example.com/token", "sandbox")
        with session:
            if kind == "incremental" and "cursor=" in query:  # a real cursor: follow ours
                self.make("tickets")
                first = session.get(f"{self.sb.url}{path}?start_time=0&per_page=1").json()
                return session.get(first["after_url"])
            if "page%5Bafter%5D" in query:
                for _ in range(3):
                    self.make(kind)
                size = re.search(r"page%5Bsize%5D=(\d+)", query).group(1)
                first = session.get(f"{self.sb.url}{path}?page%5Bsize%5D={size}").json()
                return session.get(first["links"]["next"])
            if rec["method"] == "GET" and kind in ("tickets", "organizations", "users"):
                self.make(kind)
            url = f"{self.sb.url}{path}" + (f"?{query}" if query else "")
            body = self.body(kind, rec["request"]) if rec["request"] is not None else None
            return session.request(rec["method"], url, json=body)


def _label(rec: dict[str, Any]) -> str:
    return f"{rec['method']} {rec['path_template']} {rec['status']}"


@pytest.mark.parametrize("rec", RECORDS, ids=[_label(r) for r in RECORDS])
def test_recording(rec: dict[str, Any]) -> None:
    reason = SKIPPED.get((rec["method"], rec["path_template"]))
    if reason:
        pytest.skip(reason)
    with Sandbox(api_email="agent@example.com") as sb:
        response = Replayer(sb).send(rec)
        assert response.status_code == rec["status"], response.text
        if rec["response"] is None:
            assert not response.content
            return
        got = response.json()
        assert set(got) == set(rec["response"])
        assert compare(rec["response"], got, "response") == []


def test_skip_list_is_short_and_real() -> None:
    recorded = {(r["method"], r["path_template"]) for r in RECORDS}
    assert set(SKIPPED) <= recorded
    assert sum((r["method"], r["path_template"]) not in SKIPPED for r in RECORDS) >= 70


def test_newer_keys_are_there_with_their_types(http: requests.Session, sandbox: Sandbox) -> None:
    """The keys the recordings predate: generated_timestamp, permanently_deleted, job_type."""
    store = sandbox.store
    org = store.add_organization(name="Acme")
    person = store.add_user(name="Ann", email="ann@acme.test", organization_id=org["id"])
    tid = store.add_ticket(subject="Down", requester_id=person["id"])["id"]
    ticket = http.get(f"{sandbox.url}/api/v2/tickets/{tid}.json").json()["ticket"]
    user = http.get(f"{sandbox.url}/api/v2/users/{person['id']}.json").json()["user"]
    job = http.put(
        f"{sandbox.url}/api/v2/tickets/update_many.json",
        json={"tickets": [{"id": tid, "status": "open"}]},
    ).json()["job_status"]
    assert isinstance(ticket["generated_timestamp"], int)
    assert ticket["generated_timestamp"] >= int(time.time()) - 60
    assert user["permanently_deleted"] is False
    assert job["job_type"] == "Bulk update tickets"
    shown = http.get(job["url"]).json()["job_status"]
    assert shown["job_type"] == "Bulk update tickets"
