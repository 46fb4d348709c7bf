"""The Tickets section: candidates a person can judge, likely duplicates grouped, a merge
confirmation that says what Zendesk will do to each ticket."""

import re

from comms.contacts.models import AffectedOrganization, OrganizationPerson
from tests.incidents.test_web import finished, post


def rows_of(page: str, table_id: str) -> list[str]:
    """The text of each body row of a table, tags removed, spaces squeezed."""
    body = page.split(f'id="{table_id}"')[1].split("</table>")[0].split("<tbody>")[1]
    return [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in body.split("</tr>")[:-1]]


def known_acme(db_session, incident, desk, clock):
    """Acme is an affected organisation whose people were read: comms knows their names."""
    db_session.add(
        AffectedOrganization(
            incident_id=incident.id,
            organization_id=desk.acme,
            name="Acme Museum",
            tags=[],
            added_how="by name",
            added_at=clock.now(),
        )
    )
    db_session.add(
        OrganizationPerson(
            incident_id=incident.id,
            organization_id=desk.acme,
            user_id=desk.ann,
            name="Ann Acme",
            email="ann@acme.example",
            tags=[],
        )
    )
    db_session.commit()


def test_candidates_show_organisation_requester_and_their_likely_duplicates(
    login, incident, sandbox, desk, db_session, clock
):
    known_acme(db_session, incident, desk, clock)
    client = login("manager")
    url = f"/incidents/{incident.reference}"
    finished(client, post(client, f"{url}/candidates", {}, url).headers["Location"])
    page = client.get(f"{url}/tickets").get_data(as_text=True)
    website, errors, still = desk.tickets[:3]
    rows = {row.split()[0]: row for row in rows_of(page, "candidate-table")}
    assert "Website down Acme Museum Ann Acme" in rows[str(website)]
    # Bravo is not an affected organisation yet: its ids are all comms knows.
    assert f"503 errors on our site organisation {desk.bravo} user {desk.bob}" in rows[str(errors)]
    groups = page.split('id="duplicates"')[1].split('id="candidates-form"')[0]
    assert "1 group" in groups and "same requester: Ann Acme" in groups
    assert f"{website} Website down" in groups and f"{still} Site still down?" in groups
    assert "503 errors" not in groups
    assert "Link all 2" in groups and f"Merge into the oldest ({website})…" in groups
    assert 'id="select-all-candidates"' in page and 'id="candidate-filter"' in page
    assert f'<option value="{desk.acme}">Acme Museum</option>' in page


def test_the_merge_confirmation_lists_each_ticket_and_what_zendesk_will_do(
    login, incident, sandbox, desk, db_session, clock
):
    known_acme(db_session, incident, desk, clock)
    client = login("manager")
    url = f"/incidents/{incident.reference}"
    finished(client, post(client, f"{url}/candidates", {}, url).headers["Location"])
    website, _, still = desk.tickets[:3]
    form = {"target_id": str(website), "ticket_ids": [str(website), str(still)]}
    page = post(client, f"{url}/merge/confirm", form, url).get_data(as_text=True)
    assert "Merge 1 ticket into ticket" in page and "cannot be undone" in page
    [target] = rows_of(page, "merge-target")
    assert target.startswith(f"{website} Website down Ann Acme Acme Museum keep it open")
    assert f"“Tickets {still} were merged into this ticket as duplicates" in target
    [source] = rows_of(page, "merge-sources")
    assert source.startswith(f"{still} Site still down? Ann Acme Acme Museum")
    assert "close it and tag it closed_by_merge" in source
    assert f"“This ticket was merged into ticket {website} ({incident.reference})" in source
    assert sandbox.store.ticket(still)["status"] != "closed"  # nothing happened yet

    only_target = post(client, f"{url}/merge/confirm", {**form, "ticket_ids": [str(website)]}, url)
    assert only_target.status_code == 302
    assert "not only that one" in client.get(f"{url}/tickets").get_data(as_text=True)
