"""Who may discuss and moderate what: people x actions x visibility, through the real endpoints.

The world (built once for the module, rolled back at its end):
- "Book club" (book-club): owner, moderator, member and author are in it, and passer_by, a
  plain member the member acts (remove, ban) aim at; banned was in it and was banned.
- "Other circle": other_owner owns it and other_moderator moderates it, and nothing else.
- staff is site staff, in no group.
- author asked three questions, one private, one for the club, one public; each has one reply
  by author (the answer to mark) and one open flag by passer_by (to dismiss).

The expected answers come from `sees` and `moderates` below: the rules written out again,
independent of annotations.policy, which is what is under test. What a person may not see
answers 404; what they see but may not do answers 403; anonymous writes go to the login page;
and every refusal leaves everything as it was.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.urls import reverse

from annotations.discussions import services as discussion_services
from annotations.groups import services as group_services
from annotations.models import (
    Annotation,
    Ban,
    Flag,
    Group,
    Membership,
    ModerationAction,
    Reaction,
    Reply,
)
from annotations.moderation import services as moderation
from annotations.notes import services as note_services
from tests.factories import UserFactory, make_document, make_target

pytestmark = pytest.mark.django_db

LOGIN = reverse("login")
PEOPLE = [
    "anonymous",
    "outsider",
    "member",
    "moderator",
    "other_moderator",
    "owner",
    "author",
    "staff",
    "banned",
]
VISIBILITIES = ["private", "group", "public"]
CLUB = "book-club"
CLUB_MEMBERS = {"owner", "moderator", "member", "author"}
CLUB_MODERATORS = {"owner", "moderator"}


# The rules, written out -----------------------------------------------------------------------


def sees(person: str, visibility: str, status: str = "active") -> bool:
    if person == "author":
        return True
    if status != "active":
        return moderates(person, visibility)
    if visibility == "public":
        return True
    if visibility == "group":
        return person in CLUB_MEMBERS
    return False


def moderates(person: str, visibility: str) -> bool:
    if visibility == "group":
        return person in CLUB_MODERATORS
    if visibility == "public":
        return person == "staff"
    return False  # private notes are nobody's to moderate


def outcome(person: str, visibility: str, allowed: bool, status: str = "active") -> str:
    """What a write answers: 'allowed', 'login', '404' or '403'."""
    if person == "anonymous":
        return "login"
    if not sees(person, visibility, status):
        return "404"
    return "allowed" if allowed else "403"


# The world ------------------------------------------------------------------------------------


@dataclass
class World:
    users: dict
    club: Group
    notes: dict  # visibility -> Annotation
    replies: dict  # visibility -> Reply


def token(visibility: str) -> str:
    return f"token-{visibility}-end"


def _build_world() -> World:
    users = {name: UserFactory(username=name) for name in PEOPLE if name != "anonymous"}
    users["anonymous"] = AnonymousUser()
    users["staff"].is_staff = True
    users["staff"].save(update_fields=["is_staff"])
    passer_by = users["passer_by"] = UserFactory(username="passer_by")
    other_owner = UserFactory(username="other_owner")

    club = group_services.group_create(owner=users["owner"], name="Book club")
    other = group_services.group_create(owner=other_owner, name="Other circle")
    assert club.slug == CLUB
    for name in ("moderator", "member", "author", "banned", "passer_by"):
        group_services.group_join(user=users[name], token=club.invite_token)
    group_services.group_join(user=users["other_moderator"], token=other.invite_token)
    group_services.membership_set_role(
        actor=users["owner"], group=club, user_id=users["moderator"].pk, role="moderator"
    )
    group_services.membership_set_role(
        actor=other_owner, group=other, user_id=users["other_moderator"].pk, role="moderator"
    )

    document = make_document(paragraphs=6, title="Matrix text")
    notes, replies = {}, {}
    for position, visibility in enumerate(VISIBILITIES, start=1):
        note = note_services.annotation_create(
            author=users["author"],
            document=document,
            target=make_target(document, position=position),
            body=f"A question that says {token(visibility)}.",
            visibility=visibility,
            group=club if visibility == "group" else None,
        )
        discussion_services.question_set(
            annotation_id=note.pk, by=users["author"], is_question=True
        )
        replies[visibility] = discussion_services.reply_create(
            author=users["author"], annotation_id=note.pk, body=f"An answer {token(visibility)}"
        )
        # Stored directly: nobody could flag a private note (that is the point of the rule).
        Flag.objects.create(
            flagger=passer_by,
            annotation=note,
            group=club if visibility == "group" else None,
            reason=Flag.Reason.SPAM,
        )
        notes[visibility] = note

    # banned could see the club's question while in the club; then was banned.
    assert Annotation.objects.visible_to(users["banned"]).filter(pk=notes["group"].pk).exists()
    moderation.member_ban(moderator=users["owner"], group=club, user_id=users["banned"].pk)
    return World(users, club, notes, replies)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """Built once in a transaction the module's tests nest in (pytest-django runs each test in
    a savepoint), and rolled back after the module's last test."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield _build_world()
        transaction.set_rollback(True)


def visit(client, world: World, person: str):
    if person != "anonymous":
        client.force_login(world.users[person])
    return client


def snapshot(world: World, visibility: str) -> dict:
    """Everything an act on a note, or on the club's members, could change."""
    note = Annotation.objects.get(pk=world.notes[visibility].pk)
    return {
        "note": (note.status, note.locked, note.answer_id, note.is_question, note.version),
        "replies": list(
            Reply.objects.filter(annotation=note).values_list("pk", "status", "version")
        ),
        "reactions": list(Reaction.objects.filter(annotation=note).values_list("pk", flat=True)),
        "flags": list(Flag.objects.filter(annotation=note).values_list("pk", "resolved_at")),
        "log": ModerationAction.objects.count(),
        "members": sorted(
            Membership.objects.filter(group=world.club).values_list("user__username", "role")
        ),
        "bans": sorted(Ban.objects.values_list("user__username", flat=True)),
    }


def assert_refused(response, expected: str, world: World, visibility: str, before: dict):
    if expected == "login":
        assert response.status_code == 302
        assert response["Location"].startswith(f"{LOGIN}?next=")
    else:
        assert response.status_code == int(expected)
        assert token(visibility) not in response.content.decode()
    assert snapshot(world, visibility) == before


def set_status(world: World, visibility: str, status: str) -> None:
    Annotation.objects.filter(pk=world.notes[visibility].pk).update(status=status)


def cells(*axes):
    combos = [()]
    for axis in axes:
        combos = [(*c, v) for c in combos for v in axis]
    return combos


def flag_cells():
    out = []
    for person, visibility in cells(PEOPLE, VISIBILITIES):
        out.append(pytest.param(person, visibility, id=f"{person}-{visibility}"))
    return out


# Viewing the thread ---------------------------------------------------------------------------


@pytest.mark.parametrize(("person", "visibility"), cells(PEOPLE, VISIBILITIES))
def test_view_thread(client, world, person, visibility):
    url = reverse("annotation", kwargs={"pk": world.notes[visibility].pk})
    response = visit(client, world, person).get(url)
    html = response.content.decode()
    if sees(person, visibility):
        assert response.status_code == 200
        assert f"A question that says {token(visibility)}" in html
        assert f"An answer {token(visibility)}" in html
    else:
        assert response.status_code == 404
        assert token(visibility) not in html


# Discussing -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("person", "visibility"), cells(PEOPLE, VISIBILITIES))
def test_reply(client, world, person, visibility):
    note = world.notes[visibility]
    before = snapshot(world, visibility)
    url = reverse("reply_create", kwargs={"pk": note.pk})
    response = visit(client, world, person).post(url, {"body": "matrix reply"})
    expected = outcome(person, visibility, allowed=True)
    if expected == "allowed":
        assert response.status_code == 302
        created = Reply.objects.get(body="matrix reply")
        assert (created.annotation_id, created.author.username) == (note.pk, person)
    else:
        assert_refused(response, expected, world, visibility, before)


@pytest.mark.parametrize(("person", "visibility"), cells(PEOPLE, VISIBILITIES))
def test_react(client, world, person, visibility):
    note = world.notes[visibility]
    before = snapshot(world, visibility)
    url = reverse("react", kwargs={"pk": note.pk})
    response = visit(client, world, person).post(url, {"kind": "plus_one"})
    expected = outcome(person, visibility, allowed=person != "author")
    if expected == "allowed":
        assert response.status_code == 302
        assert list(Reaction.objects.values_list("user__username", "annotation_id")) == [
            (person, note.pk)
        ]
    else:
        assert_refused(response, expected, world, visibility, before)


@pytest.mark.parametrize(("person", "visibility"), flag_cells())
def test_flag(client, world, person, visibility):
    note = world.notes[visibility]
    before = snapshot(world, visibility)
    url = reverse("flag_annotation", kwargs={"pk": note.pk})
    response = visit(client, world, person).post(url, {"reason": "abuse", "comment": "matrix"})
    allowed = visibility != "private" and person != "author"
    expected = outcome(person, visibility, allowed=allowed)
    if expected == "allowed":
        assert response.status_code == 302
        flag = Flag.objects.get(comment="matrix")
        assert (flag.flagger.username, flag.annotation_id, flag.reason) == (
            person,
            note.pk,
            "abuse",
        )
        assert flag.group == (world.club if visibility == "group" else None)
    else:
        assert_refused(response, expected, world, visibility, before)


@pytest.mark.parametrize(("person", "visibility"), cells(PEOPLE, VISIBILITIES))
def test_mark_answer(client, world, person, visibility):
    note, answer = world.notes[visibility], world.replies[visibility]
    before = snapshot(world, visibility)
    url = reverse("answer", kwargs={"pk": note.pk})
    response = visit(client, world, person).post(url, {"reply": answer.pk})
    allowed = person == "author" or moderates(person, visibility)
    expected = outcome(person, visibility, allowed=allowed)
    if expected == "allowed":
        assert response.status_code == 302
        assert Annotation.objects.get(pk=note.pk).answer_id == answer.pk
    else:
        assert_refused(response, expected, world, visibility, before)


# Moderating a note ----------------------------------------------------------------------------

# act -> (the status the note has first, the state it should reach)
ACTS = {
    "hide": ("active", lambda note, flags: note.status == "hidden"),
    "unhide": ("hidden", lambda note, flags: note.status == "active"),
    "lock": ("active", lambda note, flags: note.locked),
    "dismiss": ("active", lambda note, flags: flags.filter(resolved_at__isnull=True).count() == 0),
    "approve": ("pending", lambda note, flags: note.status == "active"),
}


@pytest.mark.parametrize(("act", "person", "visibility"), cells(ACTS, PEOPLE, VISIBILITIES))
def test_moderator_acts(client, world, act, person, visibility):
    status, done = ACTS[act]
    note = world.notes[visibility]
    set_status(world, visibility, status)
    before = snapshot(world, visibility)
    data = {"act": act, "annotation": note.pk, "reply": "", "reason": "matrix reason"}
    response = visit(client, world, person).post(reverse("moderation_act"), data)
    expected = outcome(person, visibility, moderates(person, visibility), status)
    if expected == "allowed":
        assert response.status_code == 302
        fresh = Annotation.objects.get(pk=note.pk)
        assert done(fresh, Flag.objects.filter(annotation=note))
        logged = ModerationAction.objects.latest("id")
        assert (logged.act, logged.moderator.username, logged.annotation_id) == (
            act,
            person,
            note.pk,
        )
        assert ModerationAction.objects.count() == before["log"] + 1
    else:
        assert_refused(response, expected, world, visibility, before)


# The queue and the log ------------------------------------------------------------------------

SCOPES = ["group", "public"]  # the club's queue and log; the site's, for public notes


def scope_url(name: str, scope: str) -> str:
    if scope == "group":
        return reverse(f"group_moderation{name}", kwargs={"slug": CLUB})
    return reverse(f"site_moderation{name}")


@pytest.mark.parametrize(("page", "person", "scope"), cells(["", "_log"], PEOPLE, SCOPES))
def test_queue_and_log(client, world, page, person, scope):
    response = visit(client, world, person).get(scope_url(page, scope))
    html = response.content.decode()
    if person == "anonymous":
        assert response.status_code == 302
        assert response["Location"].startswith(f"{LOGIN}?next=")
    elif moderates(person, scope):
        assert response.status_code == 200
        if page == "":  # the queue shows the flagged question of its scope only
            assert token(scope) in html
            assert token("public" if scope == "group" else "group") not in html
    else:
        assert response.status_code == 404
        assert token(scope) not in html and "Moderation" not in html


# Removing and banning members -----------------------------------------------------------------


@pytest.mark.parametrize(("act", "person"), cells(["remove", "ban"], PEOPLE))
def test_remove_and_ban_a_member(client, world, act, person):
    target = world.users["passer_by"]
    before = snapshot(world, "group")
    url = reverse("group_member_act", kwargs={"slug": CLUB, "user_id": target.pk})
    response = visit(client, world, person).post(url, {"act": act, "reason": "matrix"})
    if person == "anonymous":
        expected = "login"
    elif person not in CLUB_MEMBERS:
        expected = "404"
    else:
        expected = "allowed" if person in CLUB_MODERATORS else "403"
    if expected == "allowed":
        assert response.status_code == 302
        assert not Membership.objects.filter(group=world.club, user=target).exists()
        assert Ban.objects.filter(group=world.club, user=target).exists() is (act == "ban")
        logged = ModerationAction.objects.latest("id")
        assert (logged.act, logged.moderator.username, logged.subject_id) == (
            "ban" if act == "ban" else "remove_member",
            person,
            target.pk,
        )
    else:
        assert_refused(response, expected, world, "group", before)


# One group's moderator, in another group -------------------------------------------------------


def test_a_club_moderator_has_no_power_in_another_group(client, world):
    other = Group.objects.get(slug="other-circle")
    other_owner = Membership.objects.get(group=other, role="owner").user
    document = world.notes["group"].document
    theirs = note_services.annotation_create(
        author=other_owner,
        document=document,
        target=make_target(document, position=4),
        body="Circle words",
        visibility="group",
        group=other,
    )
    for person in ("moderator", "owner"):
        client.force_login(world.users[person])
        for act in ("hide", "lock"):
            data = {"act": act, "annotation": theirs.pk, "reason": "x"}
            assert client.post(reverse("moderation_act"), data).status_code == 404
        for name in ("group_moderation", "group_moderation_log"):
            assert client.get(reverse(name, kwargs={"slug": other.slug})).status_code == 404
        url = reverse("group_member_act", kwargs={"slug": other.slug, "user_id": other_owner.pk})
        assert client.post(url, {"act": "ban"}).status_code == 404
    theirs.refresh_from_db()
    assert (theirs.status, theirs.locked) == ("active", False)
    assert Membership.objects.filter(group=other).count() == 2


def test_world_is_as_described(world):
    members = set(
        Membership.objects.filter(group=world.club).values_list("user__username", flat=True)
    )
    assert members == CLUB_MEMBERS | {"passer_by"}
    assert list(Ban.objects.values_list("user__username", flat=True)) == ["banned"]
    for visibility, note in world.notes.items():
        fresh = Annotation.objects.get(pk=note.pk)
        assert (fresh.visibility, fresh.is_question, fresh.status) == (visibility, True, "active")
        assert Flag.objects.filter(annotation=note, resolved_at__isnull=True).count() == 1
