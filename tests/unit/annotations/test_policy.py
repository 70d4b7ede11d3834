"""Who sees a note or a reply: the policy's rules, asked directly.

Pure: viewers are the facts the rules read (`KnownViewer`: who they are, their groups, the groups
they moderate), notes and replies are unsaved objects or `Facts`. Nothing here touches the
database, except the last test, which counts the membership lookups a thread costs. The
expected audiences are written out by hand; tests/integration/annotations/test_policy_forms.py
checks that the database and live-event forms give the same answers on every cell.

The people: author wrote the note; member, moderator and owner are in its group ("the club");
departed left it (or was banned: they are the same to the rules); outsider owns another
group; staff is site staff, in no group; anonymous is not logged in.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ImproperlyConfigured
from hypothesis import given
from hypothesis import strategies as st

import annotations.models
from annotations import policy
from annotations.models import Annotation, Reply

CLUB, OTHER = 10, 20
PEOPLE = ["author", "member", "moderator", "owner", "departed", "outsider", "staff"]
IDS = {person: n for n, person in enumerate(PEOPLE, start=1)}
VIEWERS = {
    "anonymous": policy.KnownViewer(None),
    "author": policy.KnownViewer(IDS["author"], groups={CLUB}),
    "member": policy.KnownViewer(IDS["member"], groups={CLUB}),
    "moderator": policy.KnownViewer(IDS["moderator"], groups={CLUB}, moderated={CLUB}),
    "owner": policy.KnownViewer(IDS["owner"], groups={CLUB}, moderated={CLUB}),
    "departed": policy.KnownViewer(IDS["departed"]),
    "outsider": policy.KnownViewer(IDS["outsider"], groups={OTHER}, moderated={OTHER}),
    "staff": policy.KnownViewer(IDS["staff"], is_staff=True),
}
EVERYONE = set(VIEWERS)
THE_CLUB = {"author", "member", "moderator", "owner"}


def note(visibility: str, status: str = "active", author: str = "author") -> Annotation:
    group = CLUB if visibility == "group" else None
    return Annotation(author_id=IDS[author], visibility=visibility, group_id=group, status=status)


def reply(on: Annotation, author: str, status: str = "active") -> Reply:
    return Reply(annotation=on, author_id=IDS[author], status=status)


def user(person: str):
    if person == "anonymous":
        return AnonymousUser()
    return User(pk=IDS[person], username=person, is_staff=person == "staff")


def audience_of_note(it: Annotation) -> set[str]:
    return {
        person
        for person, viewer in VIEWERS.items()
        if policy.sees_note(viewer, policy.Facts.of_note(it))
    }


def audience_of_reply(it: Reply) -> set[str]:
    on = policy.Facts.of_note(it.annotation)
    return {
        person
        for person, viewer in VIEWERS.items()
        if policy.sees_reply(viewer, on, policy.Facts.of_reply(it, it.annotation))
    }


def hears_of(it: Annotation, answer: Reply | None = None) -> set[str]:
    """Who a live event about `it` reaches: the facts it carries, and each stream's viewer."""
    facts = policy.audience_of(it, answer)
    return {
        person
        for person, viewer in VIEWERS.items()
        if policy.audience_includes(
            facts,
            user_id=viewer.user_id,
            is_staff=viewer.is_staff,
            groups=set(viewer.groups),
            moderated=set(viewer.moderated),
        )
    }


# Notes ----------------------------------------------------------------------------------------

NOTE_AUDIENCES = [
    ("private", "active", {"author"}),
    ("private", "hidden", {"author"}),  # nobody moderates a private note
    ("private", "pending", {"author"}),
    ("group", "active", THE_CLUB),
    ("group", "hidden", {"author", "moderator", "owner"}),
    ("group", "pending", {"author", "moderator", "owner"}),
    ("public", "active", EVERYONE),
    ("public", "hidden", {"author", "staff"}),
    ("public", "pending", {"author", "staff"}),
    ("private", "deleted", set()),
    ("group", "deleted", set()),
    ("public", "deleted", set()),
]


@pytest.mark.parametrize(("visibility", "status", "audience"), NOTE_AUDIENCES)
def test_who_sees_a_note(visibility, status, audience):
    assert audience_of_note(note(visibility, status)) == audience


@pytest.mark.parametrize(("visibility", "status", "audience"), NOTE_AUDIENCES)
def test_a_live_event_about_a_note_reaches_the_same_people(visibility, status, audience):
    assert hears_of(note(visibility, status)) == audience


@pytest.mark.parametrize(
    ("visibility", "status", "audience"), [row for row in NOTE_AUDIENCES if row[1] == "active"]
)
def test_can_view_annotation_with_the_viewers_groups_in_hand_asks_nothing(
    visibility, status, audience
):
    """Given the viewer's groups, an active note costs no query (this test has no database: a
    query would fail it). Hidden and pending ones ask whether the viewer moderates the group."""
    for person, viewer in VIEWERS.items():
        seen = policy.can_view_annotation(user(person), note(visibility), set(viewer.groups))
        assert seen is (person in audience), person


def test_a_departed_author_keeps_their_own_group_note():
    assert "departed" in audience_of_note(note("group", author="departed"))
    assert "departed" in audience_of_note(note("group", "hidden", author="departed"))


# Replies --------------------------------------------------------------------------------------


def test_others_replies_in_a_group_thread_are_for_current_members():
    left_behind = note("group", author="departed")
    answer = reply(left_behind, "member")
    assert audience_of_reply(answer) == THE_CLUB
    assert "departed" in audience_of_note(left_behind)  # they see their note, not the talk


def test_a_live_event_about_a_reply_reaches_only_those_who_see_it():
    left_behind = note("group", author="departed")
    assert hears_of(left_behind, reply(left_behind, "member")) == THE_CLUB


def test_a_reply_is_seen_only_by_those_who_see_its_note():
    narrowed = note("private")  # was public when outsider replied; then made private
    answer = reply(narrowed, "outsider")
    assert audience_of_reply(answer) == {"author"}
    assert hears_of(narrowed, answer) == {"author"}


def test_ones_own_reply_stays_visible_while_waiting_or_hidden():
    for status in ("pending", "hidden"):
        answer = reply(note("group"), "member", status)
        assert audience_of_reply(answer) == {"member", "moderator", "owner"}, status
        answer = reply(note("public"), "outsider", status)
        assert audience_of_reply(answer) == {"outsider", "staff"}, status


def test_a_hidden_reply_in_a_private_thread_is_only_its_authors():
    answer = reply(note("private"), "author", "hidden")
    assert audience_of_reply(answer) == {"author"}


def test_a_deleted_reply_is_seen_by_nobody():
    for visibility in ("private", "group", "public"):
        assert audience_of_reply(reply(note(visibility), "author", "deleted")) == set()


def test_replies_under_a_hidden_note_reach_only_those_who_see_the_note():
    hidden = note("group", "hidden")
    assert audience_of_reply(reply(hidden, "member")) == {"author", "moderator", "owner"}


@given(
    visibility=st.sampled_from(["private", "group", "public"]),
    note_status=st.sampled_from(["active", "pending", "hidden", "deleted"]),
    reply_status=st.sampled_from(["active", "pending", "hidden", "deleted"]),
    note_author=st.sampled_from(PEOPLE),
    reply_author=st.sampled_from(PEOPLE),
)
def test_nobody_sees_a_reply_without_its_note_or_anything_deleted(
    visibility, note_status, reply_status, note_author, reply_author
):
    on = note(visibility, note_status, note_author)
    answer = reply(on, reply_author, reply_status)
    seen = audience_of_reply(answer)
    assert seen <= audience_of_note(on)
    if "deleted" in (note_status, reply_status):
        assert seen == set()
    assert hears_of(on, answer) == seen


# The database form's shape --------------------------------------------------------------------


def sql(queryset) -> str:
    return queryset.query.sql_with_params()[0]


def test_replies_are_checked_against_their_own_note_through_the_join():
    """Not against a list of every note the reader may see: with a million notes, that made a
    search over replies take a minute."""
    text = sql(Reply.objects.visible_to(user("member")))
    assert 'INNER JOIN "annotations_annotation"' in text
    assert '"annotations_reply"."annotation_id" IN' not in text


def test_membership_subqueries_are_not_sorted():
    """Membership's default ordering would join groups just to sort a subquery."""
    for person in ("member", "staff"):
        for model in (Annotation, Reply):
            text = sql(model.objects.visible_to(user(person)).order_by())
            assert "annotations_membership" in text
            assert "ORDER BY" not in text


def test_an_anonymous_reader_costs_no_membership_lookup():
    assert "annotations_membership" not in sql(Annotation.objects.visible_to(AnonymousUser()))
    assert "annotations_membership" not in sql(Reply.objects.visible_to(AnonymousUser()))


# The models do not import the policy ----------------------------------------------------------


def test_the_models_never_import_the_policy():
    """The policy reads the models; the models receive the policy's filters at startup
    (AnnotationsConfig.ready), so there is no import cycle, not even inside a function."""
    tree = ast.parse(Path(annotations.models.__file__).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module or "")
            imported |= {f"{node.module}.{alias.name}" for alias in node.names}
    assert not {name for name in imported if name.startswith("annotations.policy")}


def test_a_queryset_asked_before_the_policy_is_installed_says_so(monkeypatch):
    monkeypatch.setattr(annotations.models, "_visibility_filters", None)
    with pytest.raises(ImproperlyConfigured, match=r"AnnotationsConfig\.ready"):
        Annotation.objects.visible_to(AnonymousUser())


# Asked of the database: once per thread -------------------------------------------------------


@pytest.mark.django_db
def test_a_threads_replies_are_judged_with_memberships_asked_once(django_assert_num_queries):
    from tests.factories import GroupFactory, MembershipFactory, UserFactory

    owner, member, moderator = (UserFactory(username=n) for n in ("owner", "member", "moderator"))
    club = GroupFactory(owner=owner)
    MembershipFactory(group=club, user=member)
    MembershipFactory(group=club, user=moderator, role="moderator")
    talk = Annotation(author_id=owner.pk, visibility="group", group_id=club.pk, status="active")
    replies = [
        Reply(annotation=talk, author_id=owner.pk, status=status)
        for status in ("active", "hidden", "pending")
    ] * 20
    for viewer, sees_hidden in ((member, False), (moderator, True)):
        # Their groups, then whether they moderate this one: two lookups for 60 replies.
        with django_assert_num_queries(2):
            visible = policy.thread_reply_filter(viewer, talk)
            seen = [visible(r) for r in replies]
        assert seen == [True, sees_hidden, sees_hidden] * 20
