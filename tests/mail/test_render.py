"""Rendering: every kind renders, user text stays inert, broken templates are named."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from comms.config import Settings
from comms.mail import kinds
from comms.mail.render import EmailRenderer, TemplateProblem
from comms.paths import templates_dir


@pytest.mark.parametrize("kind", kinds.names("client"))
def test_each_kind_renders_with_sample_data(renderer: EmailRenderer, kind: str) -> None:
    rendered = renderer.render(kind, renderer.sample_context(kind))
    assert "INC-42" in rendered.subject
    assert "\n" not in rendered.subject
    assert rendered.subject == rendered.subject.strip()
    assert "Dear Sam Taylor," in rendered.text
    assert "support@example.com" in rendered.text
    assert "Acme Ltd and Beta plc" in rendered.text
    assert rendered.html.startswith("<!DOCTYPE html>")
    assert "support@example.com" in rendered.html


@pytest.mark.parametrize("kind", kinds.names("client"))
def test_client_emails_do_not_link_to_the_staff_only_app(
    renderer: EmailRenderer, kind: str
) -> None:
    """[web] base_url is the comms app, which clients cannot use; replies go to support."""
    base_url = renderer.settings.web.base_url
    rendered = renderer.render(kind, renderer.sample_context(kind))
    for part in (rendered.subject, rendered.text, rendered.html):
        assert base_url not in part
    assert 'href="http' not in rendered.html
    assert "Reply to this e-mail" in rendered.text
    assert f"mailto:{renderer.settings.smtp.reply_to}" in rendered.html
    assert renderer.sample_context(kind)["base_url"] == base_url  # still there for others


def test_check_all_passes_with_the_shipped_templates(renderer: EmailRenderer) -> None:
    renderer.check_all()


def test_templates_are_found_in_the_checkout() -> None:
    assert (templates_dir() / "email" / "update" / "body.html").is_file()


def test_next_update_time_is_shown_in_the_configured_zone(renderer: EmailRenderer) -> None:
    context = renderer.sample_context("update")
    context["next_update_at"] = datetime(2025, 7, 1, 13, 0, tzinfo=UTC)
    rendered = renderer.render("update", context)
    assert "14:00 BST, Tuesday 1 July" in rendered.text
    assert "14:00 BST, Tuesday 1 July" in rendered.html


def test_a_zone_without_an_abbreviation_is_named(settings: Settings) -> None:
    renderer = EmailRenderer(replace(settings, web=replace(settings.web, timezone="Asia/Dubai")))
    assert renderer.localtime(datetime(2025, 3, 4, 10, tzinfo=UTC)) == (
        "14:00 (Asia/Dubai), Tuesday 4 March"
    )


def test_unchanged_update_says_so_plainly(renderer: EmailRenderer) -> None:
    context = renderer.sample_context("update")
    assert "no change since our last update" in renderer.render("update", context).text
    context["repeats_previous"] = False
    assert "no change" not in renderer.render("update", context).text


def test_overnight_says_when_updates_resume(renderer: EmailRenderer) -> None:
    context = renderer.sample_context("overnight")
    context["next_update_at"] = datetime(2025, 3, 5, 10, 0, tzinfo=UTC)
    text = renderer.render("overnight", context).text
    assert "pause overnight" in text
    assert "10:00 GMT, Wednesday 5 March" in text


def test_resolved_says_what_happens_next(renderer: EmailRenderer) -> None:
    rendered = renderer.render("resolved", renderer.sample_context("resolved"))
    assert rendered.subject.startswith("INC-42 resolved")
    assert "resolved" in rendered.text
    assert "What happens next" in rendered.text


def test_user_text_arrives_as_typed_and_escaped(renderer: EmailRenderer) -> None:
    context = renderer.sample_context("update")
    context["incident"] = {**context["incident"], "title": "{{ 7*7 }} <b>down</b>"}
    context["message"] = "Line one {% if true %}x{% endif %}\n<script>alert(1)</script>"
    rendered = renderer.render("update", context)
    assert "{{ 7*7 }} <b>down</b>" in rendered.subject
    assert "{{ 7*7 }} <b>down</b>" in rendered.text
    assert "{% if true %}x{% endif %}\n<script>alert(1)</script>" in rendered.text
    assert "{{ 7*7 }} &lt;b&gt;down&lt;/b&gt;" in rendered.html
    assert "<script>" not in rendered.html
    assert "{% if true %}x{% endif %}<br>\n&lt;script&gt;alert(1)&lt;/script&gt;" in rendered.html
    assert "49" not in rendered.subject


def test_a_title_with_line_breaks_gives_a_one_line_subject(renderer: EmailRenderer) -> None:
    context = renderer.sample_context("initial")
    context["incident"] = {**context["incident"], "title": "Slow\r\nBcc: victim@example.com"}
    assert renderer.render("initial", context).subject.endswith("Slow Bcc: victim@example.com")


def test_an_undefined_variable_is_an_error(renderer: EmailRenderer) -> None:
    context = renderer.sample_context("update")
    del context["contact"]
    with pytest.raises(TemplateProblem, match="'contact' is undefined"):
        renderer.render("update", context)


def copy_templates(tmp_path: Path) -> Path:
    target = tmp_path / "email"
    shutil.copytree(templates_dir() / "email", target)
    return target


def test_a_syntax_error_names_the_file_and_line(settings: Settings, tmp_path: Path) -> None:
    path = copy_templates(tmp_path)
    (path / "update" / "body.html").write_text('{% extends "_base.html" %}\n{% block body %}\n')
    renderer = EmailRenderer(settings, templates_path=path)
    with pytest.raises(TemplateProblem) as problem:
        renderer.check_all()
    assert "update/body.html" in str(problem.value)
    assert "block" in str(problem.value)


def test_an_error_in_the_layout_names_the_layout(settings: Settings, tmp_path: Path) -> None:
    path = copy_templates(tmp_path)
    base = path / "_base.txt"
    base.write_text(base.read_text() + "{{ no_such_thing }}\n")
    renderer = EmailRenderer(settings, templates_path=path)
    with pytest.raises(
        TemplateProblem, match=r"_base\.txt, line \d+: 'no_such_thing' is undefined"
    ):
        renderer.render("initial", renderer.sample_context("initial"))


def test_a_missing_template_is_named(settings: Settings, tmp_path: Path) -> None:
    path = copy_templates(tmp_path)
    (path / "resolved" / "subject.txt").unlink()
    with pytest.raises(TemplateProblem, match=r"resolved/subject\.txt: the template is missing"):
        EmailRenderer(settings, templates_path=path).check_all()


def test_an_unknown_kind_is_refused(renderer: EmailRenderer) -> None:
    with pytest.raises(TemplateProblem, match="no e-mail kind 'weekly'"):
        renderer.render("weekly", renderer.sample_context("update"))


def test_templates_are_found_when_installed(tmp_path: Path) -> None:
    installed = tmp_path / "site-packages" / "comms"
    (installed / "templates" / "email").mkdir(parents=True)
    (installed / "templates" / "web").mkdir(parents=True)
    assert templates_dir(installed) == installed / "templates"


def test_a_syntax_error_in_a_staff_email_also_fails_the_check(settings, tmp_path: Path) -> None:
    import shutil

    from comms.paths import templates_dir

    copy = tmp_path / "email"
    shutil.copytree(templates_dir() / "email", copy)
    (copy / "reminder" / "body.txt").write_text("Hello {{ name }\n")
    with pytest.raises(TemplateProblem, match=r"reminder/body\.txt, line 1"):
        EmailRenderer(settings, templates_path=copy).check_all()
