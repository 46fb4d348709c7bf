"""The Tickets section: candidates a person can judge, likely duplicates grouped, a merge
confirmation that says what Zendesk will do to each ticket."""

import re
from datetime import timedelta

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
    # Bravo is not an affected organisation yet: its names were read with the candidates.
    assert "503 errors on our site Bravo Council Bob Bravo" in rows[str(errors)]
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


def test_candidate_names_are_stored_when_found_so_the_page_reads_no_zendesk(
    login, incident, sandbox, desk, db_session, clock
):
    client = login("manager")
    url = f"/incidents/{incident.reference}"
    finished(client, post(client, f"{url}/candidates", {}, url).headers["Location"])
    sandbox.store.orgs[desk.bravo]["name"] = "Renamed in Zendesk since"
    sandbox.store.users[desk.bob]["name"] = "Renamed too"
    page = client.get(f"{url}/tickets").get_data(as_text=True)
    rows = {row.split()[0]: row for row in rows_of(page, "candidate-table")}
    assert "503 errors on our site Bravo Council Bob Bravo" in rows[str(desk.tickets[1])]
    assert f'<option value="{desk.bravo}">Bravo Council</option>' in page


def more_bravo_tickets(sandbox, desk, clock, count: int) -> list[int]:
    """Bravo's people write in: `count` more tickets about the outage."""
    recent = clock.now() - timedelta(minutes=10)
    made = [
        sandbox.store.add_ticket(
            subject=f"Page {n} is down",
            requester_id=desk.bob,
            organization_id=desk.bravo,
            created_at=recent,
        )["id"]
        for n in range(count)
    ]
    sandbox.index_now()
    return made


def test_the_candidates_filter_reads_all_candidates_not_one_page(
    login, incident, sandbox, desk, clock
):
    bravo = [desk.tickets[1], *more_bravo_tickets(sandbox, desk, clock, 55)]
    client = login("manager")
    url = f"/incidents/{incident.reference}"
    finished(client, post(client, f"{url}/candidates", {}, url).headers["Location"])
    page = client.get(f"{url}/tickets?candidates_q=acme").get_data(as_text=True)
    # Acme's two tickets are the oldest: page 1 of all 58 candidates would not show them.
    assert "2 of 58 candidates match the filter." in page
    shown = {row.split()[0] for row in rows_of(page, "candidate-table")}
    assert shown == {str(desk.tickets[0]), str(desk.tickets[2])}
    page = client.get(f"{url}/tickets?candidates_org={desk.bravo}").get_data(as_text=True)
    assert "56 of 58 candidates match the filter." in page
    assert len(rows_of(page, "candidate-table")) == 50 and "Select all 56 matching" in page
    following = page.split("Listing 50 of 56.")[1].split('">Next')[0].split('href="')[1]
    assert f"candidates_org={desk.bravo}" in following
    rest = client.get(following.replace("&amp;", "&")).get_data(as_text=True)
    shown = {
        r.split()[0] for r in rows_of(page, "candidate-table") + rows_of(rest, "candidate-table")
    }
    assert shown == {str(t) for t in bravo}
    assert client.get(f"{url}/tickets?candidates_org=bravo").status_code == 400


def test_link_all_matching_links_every_page_of_the_filter_and_nothing_else(
    login, incident, sandbox, desk, clock
):
    bravo = [desk.tickets[1], *more_bravo_tickets(sandbox, desk, clock, 55)]
    client = login("manager")
    url = f"/incidents/{incident.reference}"
    post(client, f"{url}/parent", {}, url)
    finished(client, post(client, f"{url}/candidates", {}, url).headers["Location"])
    form = {"all_matching": "on", "candidates_q": "", "candidates_org": str(desk.bravo)}
    page = finished(client, post(client, f"{url}/link", form, url).headers["Location"])
    problem_ids = {sandbox.store.ticket(t)["problem_id"] for t in bravo}
    assert len(problem_ids) == 1 and None not in problem_ids
    for acme_ticket in (desk.tickets[0], desk.tickets[2]):
        assert sandbox.store.ticket(acme_ticket)["problem_id"] is None
    assert "(56)" in page.split("Linked tickets")[1][:80]
    assert "(2)" in page.split("Candidates")[1][:80]


def test_merge_all_matching_confirms_every_matching_ticket(login, incident, sandbox, desk, clock):
    more = more_bravo_tickets(sandbox, desk, clock, 3)
    client = login("manager")
    url = f"/incidents/{incident.reference}"
    finished(client, post(client, f"{url}/candidates", {}, url).headers["Location"])
    target = desk.tickets[1]
    form = {"all_matching": "on", "candidates_q": "down", "candidates_org": str(desk.bravo)}
    page = post(client, f"{url}/merge/confirm", {**form, "target_id": str(target)}, url)
    text = page.get_data(as_text=True)
    assert "Merge 3 tickets into ticket" in text
    assert sorted(r.split()[0] for r in rows_of(text, "merge-sources")) == sorted(map(str, more))
