"""The permission matrix extended to the API and the exports: people x notes x surfaces.

The world (built once for the module, rolled back at its end):
- "Book club": owner owns it, moderator moderates it, member and author are members; outsider
  is not in it (but owns "Other circle", so being in some group is not enough).
- author wrote a private, a group and a public note, each alone on its own paragraph of one
  document, and two more that were then hidden: a group note hidden by the club's moderator and
  a public one hidden by site staff. Every note has a reply by its author; the group and public
  ones also a reply by member.

The expected answers come from `sees` below, the rules written out again independently of
annotations.policy (which is what is under test).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.test import Client, override_settings
from django.urls import reverse

from annotations.discussions import services as discussion_services
from annotations.models import Annotation, Membership, Reply
from annotations.moderation import services as moderation
from tests.factories import GroupFactory, MembershipFactory, UserFactory, make_annotation
from tests.factories import make_document as _make_document

pytestmark = pytest.mark.django_db

PEOPLE = ["anonymous", "outsider", "member", "moderator", "owner", "author"]
CLUB_MEMBERS = {"owner", "moderator", "member", "author"}
CLUB_MODERATORS = {"owner", "moderator"}
FORMATS = ["md", "csv", "jsonld"]
FAST_PASSWORDS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@dataclass(frozen=True)
class Row:
    visibility: str
    hidden: bool = False


ROWS = {
    "private": Row("private"),
    "group": Row("group"),
    "public": Row("public"),
    "hidden_group": Row("group", hidden=True),
    "hidden_public": Row("public", hidden=True),
}


def sees(person: str, row: Row) -> bool:
    """The rules: the author sees all their own; hidden content is for its author and the
    moderators who can act on it (the club's, for group notes; staff, for public ones — no staff
    here); otherwise private is the author's, group the club's members', public everyone's."""
    if person == "author":
        return True
    if row.hidden:
        return row.visibility == "group" and person in CLUB_MODERATORS
    if row.visibility == "public":
        return True
    if row.visibility == "group":
        return person in CLUB_MEMBERS
    return False


def may_change(person: str, row: Row) -> bool:
    return person == "author"


def token(row: str) -> str:
    return f"token-{row.replace('_', '-')}-end"


def reply_token(row: str, by: str) -> str:
    return f"reply-{row.replace('_', '-')}-by-{by}-end"


def repliers(row: Row) -> list[str]:
    return ["author"] if row.visibility == "private" else ["author", "member"]


# The world ------------------------------------------------------------------------------------


@dataclass
class World:
    users: dict
    document: object
    notes: dict  # row -> Annotation
    replies: dict  # (row, replier) -> Reply


def _build() -> World:
    users = {name: UserFactory(username=name) for name in PEOPLE if name != "anonymous"}
    users["anonymous"] = AnonymousUser()
    club = GroupFactory(name="Book club", owner=users["owner"])
    MembershipFactory(group=club, user=users["author"])
    MembershipFactory(group=club, user=users["member"])
    MembershipFactory(group=club, user=users["moderator"], role=Membership.Role.MODERATOR)
    GroupFactory(name="Other circle", owner=users["outsider"])

    document = _make_document(paragraphs=len(ROWS) + 2, title="Permission text")
    notes, replies = {}, {}
    for position, (name, row) in enumerate(ROWS.items(), start=1):
        note = make_annotation(
            author=users["author"],
            document=document,
            position=position,
            body=f"A note that says {token(name)}.",
            tags=["shared-tag"],
            visibility=row.visibility,
            group=club if row.visibility == "group" else None,
        )
        for by in repliers(row):
            replies[name, by] = discussion_services.reply_create(
                author=users[by], annotation_id=note.pk, body=f"Answer {reply_token(name, by)}."
            )
        notes[name] = note
    moderation.item_hide(
        moderator=users["moderator"],
        target=moderation.item_find(annotation_id=notes["hidden_group"].pk),
        reason="Off topic.",
    )
    # Public content is moderated by site staff; nobody here is staff.
    Annotation.objects.filter(pk=notes["hidden_public"].pk).update(status="hidden")
    return World(users, document, notes, replies)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """Built once in a transaction the module's tests nest in (pytest-django runs each test in
    a savepoint), and rolled back after the module's last test."""
    with (
        django_db_blocker.unblock(),
        transaction.atomic(),
        override_settings(PASSWORD_HASHERS=FAST_PASSWORDS),
    ):
        yield _build()
        transaction.set_rollback(True)


def cells(*axes):
    combos = [()]
    for axis in axes:
        combos = [(*c, v) for c in combos for v in axis]
    return combos


def client_for(world: World, person: str) -> Client:
    client = Client()
    if person != "anonymous":
        client.force_login(world.users[person])
    return client


def body(response) -> str:
    if hasattr(response, "streaming_content"):
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


def test_world_is_as_described(world):
    statuses = {
        name: Annotation.objects.get(pk=note.pk).status for name, note in world.notes.items()
    }
    assert statuses == {name: "hidden" if row.hidden else "active" for name, row in ROWS.items()}
    assert Reply.objects.count() == sum(len(repliers(row)) for row in ROWS.values())


# One annotation -------------------------------------------------------------------------------


@pytest.mark.parametrize(("person", "row"), cells(PEOPLE, ROWS))
def test_get_one_annotation(world, person, row):
    response = client_for(world, person).get(f"/api/annotations/{world.notes[row].pk}")
    if sees(person, ROWS[row]):
        assert response.status_code == 200
        assert token(row) in body(response)
    else:
        assert response.status_code == 404
        assert token(row) not in body(response)


@pytest.mark.parametrize(("person", "row"), cells(PEOPLE, ROWS))
def test_get_one_reply(world, person, row):
    """A reply is seen exactly by those who see its note, whoever wrote it."""
    client = client_for(world, person)
    for by in repliers(ROWS[row]):
        response = client.get(f"/api/replies/{world.replies[row, by].pk}")
        expected = 200 if sees(person, ROWS[row]) else 404
        assert response.status_code == expected, by
        assert (reply_token(row, by) in body(response)) is (expected == 200)


# The container --------------------------------------------------------------------------------


@pytest.mark.parametrize("person", PEOPLE)
def test_container_items_and_total(world, person):
    response = client_for(world, person).get(f"/api/documents/{world.document.slug}/annotations/")
    assert response.status_code == 200
    collection = json.loads(response.content)
    ids = {item["id"] for item in collection["first"]["items"]}
    expected = {
        f"http://testserver/api/annotations/{world.notes[row].pk}"
        for row, spec in ROWS.items()
        if sees(person, spec)
    }
    assert ids == expected
    assert collection["total"] == len(expected)
    text = body(response)
    for row, spec in ROWS.items():
        assert (token(row) in text) is sees(person, spec), row


# The thread -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("person", "row"), cells(PEOPLE, ROWS))
def test_replies_collection(world, person, row):
    response = client_for(world, person).get(f"/api/annotations/{world.notes[row].pk}/replies/")
    text = body(response)
    if not sees(person, ROWS[row]):
        assert response.status_code == 404
        assert not any(reply_token(row, by) in text for by in repliers(ROWS[row]))
        return
    assert response.status_code == 200
    thread = json.loads(text)
    assert thread["total"] == len(repliers(ROWS[row]))
    assert [item["body"]["value"] for item in thread["first"]["items"]] == [
        f"Answer {reply_token(row, by)}." for by in repliers(ROWS[row])
    ]


# Changing and deleting ------------------------------------------------------------------------

STALE = '"00000000000000000000000000000000"'


def write_expected(person: str, row: Row) -> int:
    if person == "anonymous":
        return 401
    if may_change(person, row):
        return 0  # allowed
    return 403 if sees(person, row) else 404


@pytest.mark.parametrize(("person", "row"), cells(PEOPLE, ROWS))
def test_put(world, person, row):
    note = world.notes[row]
    path = f"/api/annotations/{note.pk}"
    current = client_for(world, "author").get(path)
    data, etag = json.loads(current.content), current["ETag"]
    data["body"] = {"type": "TextualBody", "value": "Rewritten."}
    client = client_for(world, person)
    expected = write_expected(person, ROWS[row])
    # Those who may not change it are refused before their ETag matters.
    response = client.put(
        path,
        json.dumps(data),
        content_type="application/ld+json",
        headers={"If-Match": etag if expected == 0 else STALE},
    )
    after = Annotation.objects.get(pk=note.pk)
    if expected == 0:
        assert response.status_code == 200, response.content
        assert (after.body, after.version) == ("Rewritten.", note.version + 1)
    else:
        assert response.status_code == expected
        assert token(row) not in body(response)
        assert (after.body, after.version) == (note.body, note.version)


@pytest.mark.parametrize(("person", "row"), cells(PEOPLE, ROWS))
def test_delete(world, person, row):
    note = world.notes[row]
    path = f"/api/annotations/{note.pk}"
    etag = client_for(world, "author").get(path)["ETag"]
    expected = write_expected(person, ROWS[row])
    response = client_for(world, person).delete(
        path, headers={"If-Match": etag if expected == 0 else STALE}
    )
    after = Annotation.objects.get(pk=note.pk)
    if expected == 0:
        assert response.status_code == 204
        assert after.status == Annotation.Status.DELETED
    else:
        assert response.status_code == expected
        assert after.status == ("hidden" if ROWS[row].hidden else "active")


@pytest.mark.parametrize(("person", "row"), cells(PEOPLE, ROWS))
def test_reply_put_and_delete_only_by_its_writer(world, person, row):
    reply = world.replies[row, "author"]
    path = f"/api/replies/{reply.pk}"
    etag = client_for(world, "author").get(path)["ETag"]
    expected = write_expected(person, ROWS[row])
    client = client_for(world, person)
    data = {"type": "Annotation", "motivation": "replying", "body": "x", "target": "x"}
    put = client.put(
        path, json.dumps(data), content_type="application/ld+json", headers={"If-Match": STALE}
    )
    delete = client.delete(path, headers={"If-Match": STALE})
    if expected == 0:
        assert (put.status_code, delete.status_code) == (412, 412)  # allowed, but stale
        assert client.delete(path, headers={"If-Match": etag}).status_code == 204
    else:
        assert (put.status_code, delete.status_code) == (expected, expected)
        assert Reply.objects.get(pk=reply.pk).status == "active"


# Exports --------------------------------------------------------------------------------------


def _exported(response, fmt: str) -> str:
    assert response.status_code == 200
    text = body(response)
    if fmt == "jsonld":
        assert json.loads(text)["type"] == "AnnotationCollection"
    elif fmt == "csv":
        assert next(csv.reader(io.StringIO(text)))[0] == "id"
    return text


@pytest.mark.parametrize(("person", "fmt"), cells(PEOPLE, FORMATS))
def test_document_export(world, person, fmt):
    url = reverse("export_document", kwargs={"slug": world.document.slug, "fmt": fmt})
    text = _exported(client_for(world, person).get(url), fmt)
    for row, spec in ROWS.items():
        assert (token(row) in text) is sees(person, spec), row
        for by in repliers(spec):
            assert (reply_token(row, by) in text) is sees(person, spec), (row, by)


@pytest.mark.parametrize(("person", "fmt"), cells(PEOPLE, FORMATS))
def test_my_notes_export_holds_only_my_own(world, person, fmt):
    url = reverse("export_mine", kwargs={"fmt": fmt})
    response = client_for(world, person).get(url)
    if person == "anonymous":
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
        return
    text = _exported(response, fmt)
    for row in ROWS:
        assert (token(row) in text) is (person == "author"), row


@pytest.mark.parametrize(("person", "fmt"), cells(PEOPLE, FORMATS))
def test_group_export_is_for_members(world, person, fmt):
    url = reverse("export_group", kwargs={"slug": "book-club", "fmt": fmt})
    response = client_for(world, person).get(url)
    if person == "anonymous":
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
        return
    if person not in CLUB_MEMBERS:
        assert response.status_code == 404
        assert not any(token(row) in body(response) for row in ROWS)
        return
    text = _exported(response, fmt)
    for row, spec in ROWS.items():
        in_group = spec.visibility == "group"
        assert (token(row) in text) is (in_group and sees(person, spec)), row


def test_export_in_an_unknown_format_is_404(world):
    url = reverse("export_document", kwargs={"slug": world.document.slug, "fmt": "pdf"})
    assert client_for(world, "author").get(url).status_code == 404
