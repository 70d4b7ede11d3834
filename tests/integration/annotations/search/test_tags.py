"""Tag pages, the tag list and tag suggestions: a matrix of people x notes, and the rule that a
tag used only where the viewer cannot see looks exactly like a tag nobody uses.

The world (built once for the module, rolled back at its end): "Book club" with owner,
moderator, member and author; outsider is not in it. author wrote a private, a group and a
public note, a group note a moderator hid, and a public note they deleted; outsider wrote a
private note. Each carries its own tag and the tag "shared".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from annotations.discussions import services as discussion_services
from annotations.groups import services as group_services
from annotations.models import Annotation
from annotations.notes import services as note_services
from tests.factories import UserFactory, make_annotation, make_document

pytestmark = pytest.mark.django_db

PEOPLE = ["anonymous", "outsider", "member", "moderator", "owner", "author"]
MEMBERS = {"owner", "moderator", "member", "author"}
MODERATORS = {"owner", "moderator"}
SHARED = "shared"


@dataclass(frozen=True)
class Row:
    author: str
    visibility: str
    tag: str
    status: str = "active"


ROWS = {
    "private": Row("author", "private", "solo-thought"),
    "group": Row("author", "group", "circle-talk"),
    "public": Row("author", "public", "open-idea"),
    "hidden_group": Row("author", "group", "hush-matter", status="hidden"),
    "deleted_public": Row("author", "public", "gone-away", status="deleted"),
    "outsider_private": Row("outsider", "private", "own-corner"),
}


def token(row: str) -> str:
    return f"token-{row.replace('_', '-')}-end"


def sees(person: str, row: Row) -> bool:
    """The design's rules, written out again."""
    if row.status == "deleted":
        return False
    if person == row.author:
        return True
    if row.status != "active":
        return row.visibility == "group" and person in MODERATORS
    if row.visibility == "public":
        return True
    if row.visibility == "group":
        return person in MEMBERS
    return False


def expected_counts(person: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in ROWS.values():
        if sees(person, row):
            counts[row.tag] = 1
            counts[SHARED] = counts.get(SHARED, 0) + 1
    return counts


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        users = {name: UserFactory(username=name) for name in PEOPLE if name != "anonymous"}
        users["anonymous"] = AnonymousUser()
        club = group_services.group_create(owner=users["owner"], name="Book club")
        for name in ("moderator", "member", "author"):
            group_services.group_join(user=users[name], token=club.invite_token)
        group_services.membership_set_role(
            actor=users["owner"], group=club, user_id=users["moderator"].pk, role="moderator"
        )
        document = make_document(paragraphs=10, title="Tagged text")
        notes = {}
        for position, (name, row) in enumerate(ROWS.items(), start=1):
            note = make_annotation(
                author=users[row.author],
                document=document,
                position=position,
                body=f"A note that says {token(name)}.",
                tags=[row.tag, SHARED],
                visibility=row.visibility,
                group=club if row.visibility == "group" else None,
            )
            if row.status == "deleted":
                note_services.annotation_delete(annotation_id=note.pk, by=users[row.author])
            elif row.status != "active":
                Annotation.objects.filter(pk=note.pk).update(status=row.status)
            notes[name] = note
        yield {"users": users, "notes": notes, "document": document, "club": club}
        transaction.set_rollback(True)


def visit(client, world, person: str):
    if person != "anonymous":
        client.force_login(world["users"][person])
    return client


def cells(*axes):
    combos = [()]
    for axis in axes:
        combos = [(*c, v) for c in combos for v in axis]
    return combos


def without_csrf(html: str) -> str:
    """A page with its per-request CSRF tokens blanked, for comparing two pages."""
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)


# /tags/<tag>/ ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("person", "row"), cells(PEOPLE, ROWS))
def test_tag_page(client, world, person, row):
    spec = ROWS[row]
    response = visit(client, world, person).get(reverse("tag", kwargs={"tag": spec.tag}))
    assert response.status_code == 200
    html = response.content.decode()
    shown = sees(person, spec)
    assert (token(row) in html) is shown
    assert (f'id="note-{world["notes"][row].pk}"' in html) is shown
    if not shown:
        # Exactly the page of a tag nobody uses (same length, so the same everything else).
        unused = "x" * len(spec.tag)
        nobody = client.get(reverse("tag", kwargs={"tag": unused})).content.decode()
        assert without_csrf(html.replace(spec.tag, unused)) == without_csrf(nobody)
        assert "No notes you can see carry the tag" in html


@pytest.mark.parametrize("person", PEOPLE)
def test_tag_page_lists_exactly_the_visible_notes_newest_first(client, world, person):
    response = visit(client, world, person).get(reverse("tag", kwargs={"tag": SHARED}))
    html = response.content.decode()
    visible = [name for name, row in ROWS.items() if sees(person, row)]
    listed = [int(pk) for pk in re.findall(r'<li class="my-note" id="note-(\d+)">', html)]
    assert listed == sorted((world["notes"][name].pk for name in visible), reverse=True)
    plural = "" if len(visible) == 1 else "s"
    assert f"{len(visible)} note{plural} you can see" in html
    for row in ROWS.values():
        # Tags of notes the viewer cannot see are not even linked from the ones they can.
        assert (f'href="/tags/{row.tag}/"' in html) is sees(person, row)


def test_tag_page_shows_quote_body_author_and_a_link_to_the_paragraph(client, world):
    note = world["notes"]["public"]
    html = client.get(reverse("tag", kwargs={"tag": "open-idea"})).content.decode()
    link = reverse("paragraph", kwargs={"slug": world["document"].slug, "key": note.start_key})
    assert f'href="{link}"' in html
    assert f"<p>A note that says {token('public')}.</p>" in html  # the stored, sanitized HTML
    assert note.exact in html
    assert "<strong>author</strong>" in html
    assert "Tagged text" in html


def test_a_hidden_note_is_marked_for_those_who_still_see_it(client, world):
    html = visit(client, world, "moderator").get("/tags/hush-matter/").content.decode()
    assert token("hidden_group") in html and "hidden by a moderator" in html


def test_tag_names_are_matched_as_they_are_stored(client, world):
    html = client.get(reverse("tag", kwargs={"tag": "Open-Idea"})).content.decode()
    assert token("public") in html
    odd = client.get("/tags/%3Cb%3Ebold/")  # cannot be a tag: shown as text, never as markup
    assert odd.status_code == 200
    html = odd.content.decode()
    assert "No notes you can see carry the tag #&lt;b&gt;bold." in html
    assert "<b>" not in html


def test_discussions_link_to_their_paragraph_or_their_permalink(client, world):
    document, author = world["document"], world["users"]["author"]
    key = document.current_revision.paragraphs.get(position=9).key
    on_paragraph, on_document = (
        discussion_services.discussion_create(
            author=author,
            document=document,
            paragraph_key=paragraph_key,
            body="Talk.",
            tags="talk",
            visibility="public",
        )
        for paragraph_key in (key, None)
    )
    html = client.get("/tags/talk/").content.decode()
    paragraph = reverse("paragraph", kwargs={"slug": document.slug, "key": key})
    assert f'<a href="{paragraph}">Tagged text</a>' in html
    assert f'<a href="{on_document.get_absolute_url()}">Tagged text</a>' in html
    assert on_paragraph.kind == "paragraph" and on_document.kind == "document"


# /tags/ ---------------------------------------------------------------------------------------


def listed_counts(html: str) -> dict[str, int]:
    pairs = re.findall(r'>#([^<]+)</a> <span class="tag-count">(\d+)<', html)
    return {tag: int(n) for tag, n in pairs}


@pytest.mark.parametrize("person", PEOPLE)
def test_tag_list_counts_only_visible_notes(client, world, person):
    response = visit(client, world, person).get(reverse("tag_list"))
    assert response.status_code == 200
    assert listed_counts(response.content.decode()) == expected_counts(person)


# /tags/suggest/ --------------------------------------------------------------------------------


def suggested(client, q: str) -> list[str]:
    response = client.get(reverse("tag_suggest"), {"q": q})
    assert response.status_code == 200
    return re.findall(r'<option value="([^"]*)"></option>', response.content.decode())


@pytest.mark.parametrize(("person", "row"), cells(PEOPLE, ROWS))
def test_suggestions_offer_only_visible_tags(client, world, person, row):
    spec = ROWS[row]
    offered = suggested(visit(client, world, person), spec.tag[:3])
    assert offered == ([spec.tag] if sees(person, spec) else [])


@pytest.mark.parametrize("person", PEOPLE)
def test_suggestions_for_the_last_item_of_the_field(client, world, person):
    client = visit(client, world, person)
    sees_any = bool(expected_counts(person))
    assert suggested(client, "SH") == ([SHARED] if sees_any else [])
    assert suggested(client, "first, other thing,  #Sha") == ([SHARED] if sees_any else [])
    # Already written earlier in the field: not offered again.
    assert suggested(client, "shared, sh") == []
    assert suggested(client, "") == [] and suggested(client, "shared, ") == []
    # The editor's field itself, as htmx sends it.
    response = client.get(reverse("tag_suggest"), {"tags": "a, sha"})
    assert (f'value="{SHARED}"' in response.content.decode()) is sees_any


def test_suggestions_are_the_ten_most_used(client, world):
    author, document = world["users"]["author"], world["document"]
    for n in range(12):
        make_annotation(
            author=author,
            document=document,
            position=8,
            start=n,
            end=n + 2,
            tags=[f"many-{m:02d}" for m in range(n, 12)][:10],
            visibility="public",
        )
    offered = suggested(client, "many")
    # many-kk is on min(k + 1, 10) notes: the most used come first, ties in name order.
    assert len(offered) == 10
    counts = {f"many-{k:02d}": 0 for k in range(12)}
    for n in range(12):
        for m in range(n, 12)[:10]:
            counts[f"many-{m:02d}"] += 1
    expected = sorted(counts, key=lambda tag: (-counts[tag], tag))[:10]
    assert offered == expected


def test_suggestion_markup_is_escaped(client, world):
    assert "<option" not in client.get(reverse("tag_suggest"), {"q": '"><script>'}).content.decode()


def test_wrong_method_is_405(client, world):
    for url in (reverse("tag_list"), reverse("tag_suggest"), "/tags/shared/"):
        assert client.post(url).status_code == 405


# Links and query counts ------------------------------------------------------------------------


def test_my_notes_and_the_panel_link_each_tag_to_its_page(client, world):
    client.force_login(world["users"]["author"])
    html = client.get(reverse("my_notes")).content.decode()
    assert '<a href="/tags/open-idea/">#open-idea</a>' in html
    note = world["notes"]["public"]
    panel = client.get(reverse("annotation", kwargs={"pk": note.pk})).content.decode()
    assert '<a href="/tags/open-idea/">#open-idea</a>' in panel


def test_the_tag_page_makes_the_same_number_of_queries_for_any_number_of_notes(client, world):
    author, member = world["users"]["author"], world["users"]["member"]
    document, club = world["document"], world["club"]

    def add(count: int) -> None:
        for n in range(count):
            make_annotation(
                author=author,
                document=document,
                position=9,
                start=n % 20,
                end=n % 20 + 3,
                body=f"Bulk **{n}**",
                tags=["bulk"],
                visibility="group" if n % 2 else "public",
                group=club if n % 2 else None,
            )

    def queries(page: int = 1) -> int:
        with CaptureQueriesContext(connection) as captured:
            response = client.get("/tags/bulk/", {"page": page})
        assert response.status_code == 200
        return len(captured)

    client.force_login(member)
    add(3)
    few = queries()
    add(60)
    assert queries() == few
    assert queries(page=2) == few
    html = client.get("/tags/bulk/").content.decode()
    assert html.count('<li class="my-note"') == 50
    assert "Page 1 of 2" in html
