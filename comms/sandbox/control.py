"""Unauthenticated /_sandbox/ endpoints for driving a sandbox in another process."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .shapes import ApiError, parse_ts
from .webhook import Webhook

if TYPE_CHECKING:
    from .server import SandboxServer


def set_webhook(server: SandboxServer, url: str | None, secret: str) -> None:
    """Install (or with url None remove) the ticket.created webhook."""
    store, controls = server.store, server.controls
    with store.lock:
        if controls.webhook is not None:
            store.on_ticket_created.remove(controls.webhook.ticket_created)
            controls.webhook = None
        if url:
            controls.webhook = Webhook(url, secret)
            store.on_ticket_created.append(controls.webhook.ticket_created)


def stats(server: SandboxServer) -> dict[str, Any]:
    """Counters for tests and benchmarks."""
    store, controls = server.store, server.controls
    with store.lock:
        hook = controls.webhook
        return {
            "requests": controls.request_count,
            "most_in_flight": controls.most_in_flight,
            "in_flight": controls.in_flight,
            "rate_limited": controls.limited,
            "tickets": len(store.tickets),
            "users": len(store.users),
            "organizations": len(store.orgs),
            "jobs": len(store.jobs),
            "rate_limit": controls.rate_limit,
            "latency_ms": controls.latency_ms,
            "webhook": None
            if hook is None
            else {"url": hook.url, "delivered": hook.delivered, "failed": hook.failed},
        }


def control(server: SandboxServer, method: str, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    """Answer a /_sandbox/ request."""
    controls, store = server.controls, server.store
    name = path.rstrip("/").removeprefix("/_sandbox/").removesuffix(".json")
    try:
        if name == "stats" and method == "GET":
            return 200, stats(server)
        if name == "faults" and method == "POST":
            controls.add_fault(
                body.get("path") or ".*",
                int(body.get("count", 1)),
                int(body.get("status", 503)),
                bool(body.get("hang")),
            )
            return 201, {"ok": True}
        if name == "faults" and method == "DELETE":
            controls.faults.clear()
            return 200, {"ok": True}
        if name == "webhook" and method == "POST":
            set_webhook(server, body.get("url"), body.get("secret") or "")
            return 201, {"ok": True}
        if name == "rate_limit" and method == "POST":
            window = body.get("window_seconds")
            controls.set_rate_limit(body.get("limit"), float(window) if window else None)
            return 200, {"ok": True}
        if name == "index" and method == "POST":  # index every change now
            with store.lock:
                store.index.index_now(store.pools())
            return 200, {"ok": True}
        if name == "latency" and method == "POST":
            controls.latency_ms = int(body.get("ms") or 0)
            return 200, {"ok": True}
        if name == "tickets" and method == "POST":
            data = dict(body.get("ticket", body))
            if data.get("created_at"):
                data["created_at"] = parse_ts(data["created_at"])
            return 201, {"ticket": store.add_ticket(**data)}
    except ApiError as exc:
        return exc.status, exc.body
    except (TypeError, ValueError) as exc:
        return 400, {"error": "InvalidValue", "description": str(exc)}
    return 404, {"error": "RecordNotFound", "description": "Not found"}
