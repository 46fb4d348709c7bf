"""Bulk ticket jobs: update_many and merge."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .shapes import ApiError, invalid, too_many

if TYPE_CHECKING:
    from .store import Store

MAX_MERGE = 5


class BulkMixin:
    """update_many and merge, run as background jobs."""

    def update_many(
        self: Store, items: list[dict[str, Any]], author_id: int | None
    ) -> dict[str, Any]:
        """PUT /tickets/update_many: a job updating each item; closed tickets fail per item."""
        if len(items) > 100:
            raise too_many(100)

        def work(index: int, item: dict[str, Any]) -> dict[str, Any]:
            tid = item.get("id")
            try:
                self.update_ticket(tid, item, author_id)
            except ApiError as exc:
                details = exc.body.get("details")
                text = (
                    details["status"][0]["description"]
                    if details and "status" in details
                    else exc.body.get("description")
                )
                return {
                    "id": tid,
                    "action": "update",
                    "success": False,
                    "error": exc.body.get("error"),
                    "details": text,
                }
            return {"id": tid, "action": "update", "status": "Updated", "success": True}

        return self.start_job(items, work, "Bulk update tickets")

    def merge(
        self: Store, target_id: int | str, body: dict[str, Any], author_id: int | None
    ) -> dict[str, Any]:
        """POST /tickets/{id}/merge: a job closing each valid source into the target."""
        ids = body.get("ids") or []
        if not isinstance(ids, list) or not ids:
            raise invalid("ids", "Ids: cannot be blank", "BlankValue")
        if len(ids) > MAX_MERGE:
            raise too_many(MAX_MERGE, "ids")
        with self.lock:
            target = self._ticket(target_id)
            if target["status"] == "closed":
                raise invalid(
                    "base",
                    f"Ticket #{target['id']} is closed and cannot be merged into",
                    "TicketClosed",
                )
        author = author_id or self.api_user_id
        merged: list[int] = []

        def work(index: int, sid: Any) -> dict[str, Any]:
            src = self.tickets.get(int(sid)) if str(sid).isdigit() else None
            fail = {"id": sid, "index": index, "action": "merge", "success": False}
            if src is None:
                return dict(fail, error="RecordNotFound", details="Not found")
            if src["id"] == target["id"]:
                return dict(
                    fail, error="InvalidValue", details="A ticket cannot be merged into itself"
                )
            if src["status"] in ("solved", "closed"):
                return dict(
                    fail,
                    error="TicketNotMergeable",
                    details=f"Ticket #{src['id']} is {src['status']} and cannot be merged",
                )
            into = f'request #{target["id"]} "{target["subject"]}"'
            text = body.get("source_comment") or f"This request was closed and merged into {into}."
            self.update_ticket(
                src["id"],
                {
                    "status": "closed",
                    "additional_tags": ["closed_by_merge"],
                    "comment": {"body": text, "public": bool(body.get("source_comment_is_public"))},
                },
                author,
            )
            merged.append(src["id"])
            return {
                "id": src["id"],
                "index": index,
                "action": "merge",
                "status": "Merged",
                "success": True,
            }

        def run(index: int, sid: Any) -> dict[str, Any]:
            result = work(index, sid)
            if index == len(ids) - 1 and merged:
                listed = ", ".join(f"#{m}" for m in merged)
                text = (
                    body.get("target_comment")
                    or f"Requests {listed} were closed and merged into this request."
                )
                if target["status"] != "closed":
                    self.update_ticket(
                        target["id"],
                        {
                            "comment": {
                                "body": text,
                                "public": bool(body.get("target_comment_is_public")),
                            }
                        },
                        author,
                    )
            return result

        return self.start_job(list(ids), run, "Merge tickets")
