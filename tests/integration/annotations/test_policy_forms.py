"""Every form of the visibility rule gives the same answer, on every cell of the matrix.

annotations.policy writes who sees a note or a reply once (NOTE_RULES, REPLY_RULES) and reads it
several ways: predicates over objects (`can_view_annotation`, `can_view_reply`, the thread's
`thread_reply_filter`), database filters (`Annotation.objects.visible_to`,
`Reply.objects.visible_to`, run here against PostgreSQL) and the live-event filter (a stream's
`Viewer.may_know` over the facts an event carries). Each is checked against the rules written
out below, independent of the policy, for every person x note x reply.

The world (built once for the module, rolled back at its end):
- "Book club": owner owns it, moderator moderates it, author and member are members; departed
  joined and left; banned joined and was banned. outsider owns "Other circle" (moderating some
  group is not enough). staff is site staff, in no group. anonymous is not logged in.
- author and departed (while still a member) each wrote a note in every visibility (private,
  group, public) and status (active, pending, hidden, deleted).
- Each note has a reply by member and one by departed in every status.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import transaction

from annotations import policy
from annotations.groups import services as group_services
from annotations.live.events import Viewer
from annotations.models import Annotation, Reply
from annotations.moderation import services as moderation
from tests.factories import UserFactory, make_annotation, make_document

pytestmark = pytest.mark.django_db

PEOPLE = [
    "anonymous",
    "author",
    "member",
    "moderator",
    "owner",
    "outsider",
    "staff",
    "departed",
    "banned",
]
VISIBILITIES = ["private", "group", "public"]
STATUSES = ["active", "pending", "hidden", "deleted"]
NOTE_AUTHORS = ["author", "departed"]
REPLY_AUTHORS = ["member", "departed"]
CLUB_MEMBERS = {"owner", "moderator", "author", "member"}  # at the end of the setup
CLUB_MODERATORS = {"owner", "moderator"}


@dataclass(frozen=True)
class NoteCell:
    author: str
    visibility: str
    status: str


@dataclass(frozen=True)
class ReplyCell:
    note: NoteCell
    author: str
    status: str


NOTES = [NoteCell(a, v, s) for a in NOTE_AUTHORS for v in VISIBILITIES for s in STATUSES]
REPLIES = [ReplyCell(n, a, s) for n in NOTES for a in REPLY_AUTHORS for s in STATUSES]


# The rules, written out -----------------------------------------------------------------------


def moderates(person: str, visibility: str) -> bool:
    if visibility == "group":
        return person in CLUB_MODERATORS
    return visibility == "public" and person == "staff"  # private notes: nobody's to moderate


def sees_note(person: str, note: NoteCell) -> bool:
    if note.status == "deleted":
        return False
    if person == note.author:
        return True
    if note.status != "active":
        return moderates(person, note.visibility)
    if note.visibility == "public":
        return True
    return note.visibility == "group" and person in CLUB_MEMBERS


def sees_reply(person: str, reply: ReplyCell) -> bool:
    if not sees_note(person, reply.note) or reply.status == "deleted":
        return False
    if person == reply.author:
        return True
    if reply.status != "active":
        return moderates(person, reply.note.visibility)
    # Someone else's reply: in a group's thread, for its current members only.
    return reply.note.visibility != "group" or person in CLUB_MEMBERS


# The world ------------------------------------------------------------------------------------


@dataclass
class World:
    users: dict
    notes: dict  # NoteCell -> Annotation
    replies: dict  # ReplyCell -> Reply


def _build_world() -> World:
    users = {name: UserFactory(username=name) for name in PEOPLE if name != "anonymous"}
    users["anonymous"] = AnonymousUser()
    users["staff"].is_staff = True
    users["staff"].save(update_fields=["is_staff"])

    club = group_services.group_create(owner=users["owner"], name="Book club")
    group_services.group_create(owner=users["outsider"], name="Other circle")
    for name in ("moderator", "author", "member", "departed", "banned"):
        group_services.group_join(user=users[name], token=club.invite_token)
    group_services.membership_set_role(
        actor=users["owner"], group=club, user_id=users["moderator"].pk, role="moderator"
    )

    document = make_document(paragraphs=8, title="Forms text")
    notes, replies = {}, {}
    for n, cell in enumerate(NOTES):
        note = make_annotation(
            author=users[cell.author],
            document=document,
            position=1 + n % 7,
            body=f"Note {n}.",
            visibility=cell.visibility,
            group=club if cell.visibility == "group" else None,
        )
        # Moderation and deletion are statuses: set directly, to reach every cell.
        Annotation.objects.filter(pk=note.pk).update(status=cell.status)
        notes[cell] = note
    for n, cell in enumerate(REPLIES):
        replies[cell] = Reply.objects.create(
            annotation=notes[cell.note],
            author=users[cell.author],
            body=f"Reply {n}.",
            body_html=f"<p>Reply {n}.</p>",
            status=cell.status,
        )

    group_services.group_leave(user=users["departed"], group=club)
    moderation.member_ban(moderator=users["owner"], group=club, user_id=users["banned"].pk)
    return World(users, notes, replies)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """Built once in a transaction the module's tests nest in (pytest-django runs each test in
    a savepoint), and rolled back after the module's last test."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield _build_world()
        transaction.set_rollback(True)


def fresh_notes(world: World) -> dict:
    """The notes as stored (with the statuses set after they were made)."""
    stored = Annotation.objects.select_related("group").in_bulk(
        [note.pk for note in world.notes.values()]
    )
    return {cell: stored[note.pk] for cell, note in world.notes.items()}


def disagreements(cell, expected: bool, answers: dict) -> list[str]:
    return [
        f"{form} says {answer}, the rule {expected}: {cell}"
        for form, answer in answers.items()
        if answer is not expected
    ]


# Every form, every cell -----------------------------------------------------------------------


@pytest.mark.parametrize("person", PEOPLE)
def test_every_form_of_the_note_rule_agrees(world, person):
    user, notes = world.users[person], fresh_notes(world)
    in_database = set(
        Annotation.objects.visible_to(user)
        .filter(pk__in=[note.pk for note in notes.values()])
        .values_list("pk", flat=True)
    )
    groups = policy.member_group_ids(user)
    stream = Viewer.load(user)
    wrong = []
    for cell, note in notes.items():
        wrong += disagreements(
            cell,
            sees_note(person, cell),
            {
                "can_view_annotation": policy.can_view_annotation(user, note),
                "can_view_annotation(group_ids)": policy.can_view_annotation(user, note, groups),
                "visible_to (SQL)": note.pk in in_database,
                "live event": stream.may_know({"after": policy.audience_of(note)}),
            },
        )
    assert wrong == []


@pytest.mark.parametrize("person", PEOPLE)
def test_every_form_of_the_reply_rule_agrees(world, person):
    user, notes = world.users[person], fresh_notes(world)
    in_database = set(
        Reply.objects.visible_to(user)
        .filter(pk__in=[reply.pk for reply in world.replies.values()])
        .values_list("pk", flat=True)
    )
    threads = {cell: policy.thread_reply_filter(user, note) for cell, note in notes.items()}
    stream = Viewer.load(user)
    wrong = []
    for cell, reply in world.replies.items():
        note = notes[cell.note]
        wrong += disagreements(
            cell,
            sees_reply(person, cell),
            {
                "can_view_reply": policy.can_view_reply(user, reply, note),
                "thread_reply_filter": threads[cell.note](reply),
                "visible_to (SQL)": reply.pk in in_database,
                "live event": stream.may_know({"after": policy.audience_of(note, reply)}),
            },
        )
    assert wrong == []


@pytest.mark.parametrize("person", PEOPLE)
def test_the_thread_audience_is_whoever_sees_others_active_replies(world, person):
    user, wrong = world.users[person], []
    for cell, note in fresh_notes(world).items():
        expected = cell.visibility != "group" or person in CLUB_MEMBERS
        answer = policy.in_thread_audience(user, note)
        wrong += disagreements(cell, expected, {"in_thread_audience": answer})
    assert wrong == []


def test_the_matrix_has_both_answers_for_every_person():
    """A matrix where someone sees everything, or nothing, would test little about them."""
    for person in PEOPLE:
        notes = {sees_note(person, cell) for cell in NOTES}
        replies = {sees_reply(person, cell) for cell in REPLIES}
        assert notes == replies == {True, False}, person
