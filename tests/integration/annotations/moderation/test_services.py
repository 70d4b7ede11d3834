"""Moderation as moderators and readers meet it: the queue, hiding and restoring, dismissing
flags, locking threads, pre-moderation, removing and banning members, and the log that records
every act and cannot be rewritten."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db import DatabaseError, connection, transaction
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from annotations.discussions import services as discussion_services
from annotations.models import (
    Annotation,
    Ban,
    Flag,
    Membership,
    ModerationAction,
    Notification,
    Reply,
)
from annotations.moderation import services as moderation
from annotations.moderation.views import QUEUE_PAGE_SIZE
from tests.factories import (
    GroupFactory,
    MembershipFactory,
    UserFactory,
    make_annotation,
    make_document,
)

pytestmark = pytest.mark.django_db

LOGIN = reverse("login")


@pytest.fixture
def document():
    return make_document(paragraphs=8, title="Walden")


@pytest.fixture
def people():
    names = ["owner", "moderator", "member", "author", "outsider", "other_moderator", "staff"]
    users = {name: UserFactory(username=name) for name in names}
    users["staff"].is_staff = True
    users["staff"].save(update_fields=["is_staff"])
    return users


@pytest.fixture
def owner(people):
    return people["owner"]


@pytest.fixture
def moderator(people):
    return people["moderator"]


@pytest.fixture
def member(people):
    return people["member"]


@pytest.fixture
def author(people):
    return people["author"]


@pytest.fixture
def outsider(people):
    return people["outsider"]


@pytest.fixture
def other_moderator(people):
    return people["other_moderator"]


@pytest.fixture
def staff(people):
    return people["staff"]


@pytest.fixture
def club(owner, moderator, member, author):
    group = GroupFactory(name="Book club", owner=owner)
    MembershipFactory(group=group, user=moderator, role=Membership.Role.MODERATOR)
    MembershipFactory(group=group, user=member)
    MembershipFactory(group=group, user=author)
    return group


@pytest.fixture
def other_circle(other_moderator):
    group = GroupFactory(name="Other circle", owner=UserFactory(username="other_owner"))
    MembershipFactory(group=group, user=other_moderator, role=Membership.Role.MODERATOR)
    return group


@pytest.fixture
def group_note(author, document, club):
    return make_annotation(
        author=author,
        document=document,
        position=2,
        quote="Paragraph 2",
        body="A note that says club-words.",
        visibility="group",
        group=club,
    )


@pytest.fixture
def public_note(author, document):
    return make_annotation(
        author=author,
        document=document,
        position=5,
        quote="Paragraph 5",
        body="A note that says public-words.",
        visibility="public",
    )


def act(client, name: str, *, note=None, reply=None, reason: str = "", follow=False):
    data = {
        "act": name,
        "annotation": note.pk if note else "",
        "reply": reply.pk if reply else "",
        "reason": reason,
    }
    return client.post(reverse("moderation_act"), data, follow=follow)


def member_act(client, group, user, name: str, reason: str = ""):
    url = reverse("group_member_act", kwargs={"slug": group.slug, "user_id": user.pk})
    return client.post(url, {"act": name, "reason": reason})


def flag(flagger, *, note=None, reply=None, reason="spam", comment=""):
    return discussion_services.flag_create(
        flagger=flagger,
        annotation_id=note.pk if note else None,
        reply_id=reply.pk if reply else None,
        reason=reason,
        comment=comment,
    )


def queue_url(group=None) -> str:
    if group is None:
        return reverse("site_moderation")
    return reverse("group_moderation", kwargs={"slug": group.slug})


def log_url(group=None) -> str:
    if group is None:
        return reverse("site_moderation_log")
    return reverse("group_moderation_log", kwargs={"slug": group.slug})


def get(client, user, url: str, **query):
    client.force_login(user)
    return client.get(url, query)


def page_of(client, user, url: str) -> str:
    response = get(client, user, url)
    assert response.status_code == 200, url
    return response.content.decode()


def side_count(html: str, key: str) -> str | None:
    side = re.search(rf'<span class="pside" id="s-{key}">(.*?)</span>', html, re.S)
    assert side, f"paragraph {key} has no side controls"
    link = re.search(r'<a class="count" href="[^"]*" aria-label="([^"]*)">(\d+)</a>', side[1])
    return None if link is None else f"{link[1]} | {link[2]}"


def queue_items(html: str) -> list[str]:
    return re.findall(
        r'<li class="queue-item">(.*?)</li>\s*(?=<li class="queue-item">|</ol>)', html, re.S
    )


def log_rows() -> list[tuple]:
    return list(
        ModerationAction.objects.order_by("id").values_list(
            "moderator__username",
            "act",
            "group__slug",
            "annotation_id",
            "reply_id",
            "subject__username",
            "reason",
            "old_state",
            "new_state",
        )
    )


# The queue -----------------------------------------------------------------------------------


def test_the_queue_lists_flagged_notes_and_replies_oldest_first_with_reasons_and_comments(
    client, author, member, owner, moderator, group_note, document, club
):
    other_note = make_annotation(
        author=member,
        document=document,
        position=3,
        body="A note that says second-words.",
        visibility="group",
        group=club,
    )
    answer = discussion_services.reply_create(
        author=author, annotation_id=other_note.pk, body="reply-words"
    )
    note_flags = [
        flag(member, note=group_note, reason="spam", comment="Buys followers"),
        flag(owner, note=group_note, reason="abuse"),
    ]
    reply_flag = flag(member, reply=answer, reason="off_topic", comment="Not about the book")
    now = timezone.now()
    # The reply was flagged first, though its flag was stored last.
    Flag.objects.filter(pk=reply_flag.pk).update(created_at=now - timedelta(hours=3))
    Flag.objects.filter(pk__in=[f.pk for f in note_flags]).update(
        created_at=now - timedelta(hours=1)
    )
    html = page_of(client, moderator, queue_url(club))
    assert 'Flagged <span class="meta">(2, oldest first)</span>' in html
    first, second = queue_items(html)
    assert "<strong>1 flag</strong>: Off-topic" in first
    assert "Reply by <strong>author</strong>" in first
    assert "reply-words" in first and "“Not about the book”" in first
    assert f'name="reply" value="{answer.pk}"' in first
    assert "<strong>2 flags</strong>: Abuse, Spam" in second
    assert "Note by <strong>author</strong>" in second
    assert "club-words" in second and "“Buys followers”" in second
    assert f'name="annotation" value="{group_note.pk}"' in second


def test_the_queue_is_paginated(client, author, member, moderator, document, club, settings):
    settings.RATE_LIMITS_ENABLED = False
    for n in range(QUEUE_PAGE_SIZE + 1):
        note = make_annotation(
            author=author,
            document=document,
            position=1 + n % 7,
            start=n % 5,
            body=f"flagged-{n}",
            visibility="group",
            group=club,
        )
        flag(member, note=note)
    first = page_of(client, moderator, queue_url(club))
    assert len(queue_items(first)) == QUEUE_PAGE_SIZE
    assert "Page 1 of 2" in first and 'rel="next"' in first
    second = get(client, moderator, queue_url(club), page=2).content.decode()
    items = queue_items(second)
    assert len(items) == 1 and f"flagged-{QUEUE_PAGE_SIZE}" in items[0]


@pytest.mark.parametrize("person", ["member", "author", "outsider", "other_moderator", "staff"])
def test_a_groups_queue_and_log_are_404_to_all_but_its_moderators(
    client, people, person, group_note, club, other_circle
):
    flag(people["member"], note=group_note)
    for url in (queue_url(club), log_url(club)):
        response = get(client, people[person], url)
        assert response.status_code == 404
        assert "club-words" not in response.content.decode()


def test_the_queue_needs_a_login(client, club):
    for url in (queue_url(club), log_url(club), queue_url(), log_url()):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(f"{LOGIN}?next=")


def test_the_staff_queue_holds_public_content_only(
    client, staff, member, moderator, group_note, public_note, club
):
    flag(member, note=group_note)
    flag(member, note=public_note, reason="abuse")
    html = page_of(client, staff, queue_url())
    assert "public-words" in html and "club-words" not in html
    html = page_of(client, moderator, queue_url(club))
    assert "club-words" in html and "public-words" not in html
    for person in (member, moderator):
        assert get(client, person, queue_url()).status_code == 404
        assert get(client, person, log_url()).status_code == 404


# Hiding --------------------------------------------------------------------------------------


def test_a_hidden_note_shows_its_reason_to_its_author_and_disappears_for_the_others(
    client, author, member, moderator, outsider, group_note, document
):
    flag(member, note=group_note, reason="abuse")
    client.force_login(moderator)
    response = act(client, "hide", note=group_note, reason="Unkind")
    assert response.status_code == 302
    group_note.refresh_from_db()
    assert (group_note.status, group_note.moderation_reason) == ("hidden", "Unkind")
    assert not Flag.objects.filter(resolved_at__isnull=True).exists()
    thread = reverse("annotation", kwargs={"pk": group_note.pk})
    panel = reverse("paragraph_notes", kwargs={"slug": document.slug, "key": group_note.start_key})

    # The author still sees it, marked, with the reason.
    html = page_of(client, author, thread)
    assert "club-words" in html
    assert "<strong>Hidden by a moderator</strong>: Unkind." in html
    assert "hidden by a moderator" in page_of(client, author, reverse("my_notes"))
    reading = page_of(client, author, document.get_absolute_url())
    assert side_count(reading, group_note.start_key) == "1 note on paragraph 3 | 1"

    # The flagger, like every other member, no longer sees it anywhere.
    assert get(client, member, thread).status_code == 404
    reading = page_of(client, member, document.get_absolute_url())
    assert f'data-annotation="{group_note.pk}"' not in reading
    assert side_count(reading, group_note.start_key) is None
    assert "club-words" not in page_of(client, member, panel)
    assert "club-words" not in page_of(client, member, reverse("my_notes"))
    club_page = reverse("group", kwargs={"slug": group_note.group.slug})
    assert "club-words" not in page_of(client, member, club_page)
    # The moderators do, to undo it.
    html = page_of(client, moderator, thread)
    assert "club-words" in html and 'value="unhide"' in html


def test_a_hidden_reply_is_gone_for_everyone_but_its_author_and_the_moderators(
    client, author, member, moderator, group_note
):
    hidden = discussion_services.reply_create(
        author=member, annotation_id=group_note.pk, body="spam-words"
    )
    client.force_login(moderator)
    assert act(client, "hide", reply=hidden, reason="Advertising").status_code == 302
    hidden.refresh_from_db()
    assert (hidden.status, hidden.moderation_reason) == ("hidden", "Advertising")
    thread = reverse("annotation", kwargs={"pk": group_note.pk})
    html = page_of(client, member, thread)
    assert "spam-words" in html and "Advertising" in html
    html = page_of(client, moderator, thread)
    assert "spam-words" in html
    html = page_of(client, author, thread)
    assert "spam-words" not in html and "(0 replies)" in html
    assert get(client, author, reverse("reply_thread", kwargs={"pk": hidden.pk})).status_code == 404


def test_hiding_without_a_reason_is_refused(client, moderator, member, group_note):
    client.force_login(moderator)
    response = act(client, "hide", note=group_note, reason="   ", follow=True)
    assert response.status_code == 200
    assert "Say why it is hidden: the author will see the reason." in response.content.decode()
    group_note.refresh_from_db()
    assert group_note.status == "active"
    assert not ModerationAction.objects.exists()
    assert not Notification.objects.filter(kind="moderation").exists()


def test_unhiding_brings_the_note_back(client, moderator, member, author, group_note):
    client.force_login(moderator)
    act(client, "hide", note=group_note, reason="Check the facts")
    assert act(client, "unhide", note=group_note).status_code == 302
    group_note.refresh_from_db()
    assert (group_note.status, group_note.moderation_reason) == ("active", "")
    html = page_of(client, member, reverse("annotation", kwargs={"pk": group_note.pk}))
    assert "club-words" in html and "Hidden by a moderator" not in html
    assert list(
        Notification.objects.filter(recipient=author)
        .order_by("id")
        .values_list("message", flat=True)
    ) == [
        "A moderator hid your contribution: Check the facts",
        "A moderator restored your contribution.",
    ]


def test_unhiding_what_is_not_hidden_changes_nothing(client, moderator, group_note):
    client.force_login(moderator)
    response = act(client, "unhide", note=group_note, follow=True)
    assert "It is active: nothing to do." in response.content.decode()
    assert not ModerationAction.objects.exists()


def test_dismissing_the_flags_empties_the_queue_and_keeps_the_note(
    client, moderator, member, owner, group_note, club
):
    flag(member, note=group_note)
    flag(owner, note=group_note, reason="other")
    client.force_login(moderator)
    assert act(client, "dismiss", note=group_note, reason="It is fine").status_code == 302
    assert Flag.objects.filter(resolved_at__isnull=False).count() == 2
    group_note.refresh_from_db()
    assert group_note.status == "active"
    assert "Nothing is flagged." in page_of(client, moderator, queue_url(club))
    # Nothing left to dismiss.
    response = act(client, "dismiss", note=group_note, follow=True)
    assert "There are no open flags on it." in response.content.decode()
    assert ModerationAction.objects.count() == 1


# Locking -------------------------------------------------------------------------------------


def test_a_locked_thread_refuses_replies_with_a_message(client, moderator, member, group_note):
    client.force_login(moderator)
    assert act(client, "lock", note=group_note, reason="Cooling off").status_code == 302
    group_note.refresh_from_db()
    assert group_note.locked
    thread = reverse("annotation", kwargs={"pk": group_note.pk})
    html = page_of(client, member, thread)
    assert "This thread is locked." in html
    assert 'class="reply-form"' not in html
    response = client.post(reverse("reply_create", kwargs={"pk": group_note.pk}), {"body": "but"})
    assert response.status_code == 400
    assert "This thread is locked: no new replies." in response.content.decode()
    assert not Reply.objects.exists()
    # Unlocked, the thread takes replies again.
    client.force_login(moderator)
    assert act(client, "unlock", note=group_note).status_code == 302
    client.force_login(member)
    response = client.post(reverse("reply_create", kwargs={"pk": group_note.pk}), {"body": "ok"})
    assert response.status_code == 302
    assert Reply.objects.count() == 1


# Pre-moderation ------------------------------------------------------------------------------


def switch_pre_moderation(client, who, group, on: bool):
    client.force_login(who)
    url = reverse("group_pre_moderation", kwargs={"slug": group.slug})
    return client.post(url, {"on": "1" if on else "0"})


def test_pre_moderation_holds_members_contributions_until_approved(
    client, owner, moderator, member, author, outsider, club, group_note, document
):
    assert switch_pre_moderation(client, owner, club, True).status_code == 302
    club.refresh_from_db()
    assert club.pre_moderation
    waiting = discussion_services.discussion_create(
        author=member,
        document=document,
        paragraph_key=document.current_revision.paragraphs.get(position=6).key,
        body="held-words",
        visibility="group",
        group=club,
    )
    held = discussion_services.reply_create(
        author=member, annotation_id=group_note.pk, body="held-reply"
    )
    assert (waiting.status, held.status) == ("pending", "pending")
    own_thread = reverse("annotation", kwargs={"pk": waiting.pk})
    note_thread = reverse("annotation", kwargs={"pk": group_note.pk})

    # The author of each sees it, marked as waiting; the moderators see it in their queue.
    assert "Waiting for a moderator\u2019s approval." in page_of(client, member, own_thread)
    assert "held-reply" in page_of(client, member, note_thread)
    queue = page_of(client, moderator, queue_url(club))
    assert "Waiting for approval" in queue and "held-words" in queue and "held-reply" in queue
    assert "held-words" in page_of(client, owner, own_thread)

    # Other members see neither, and nothing counts them.
    assert get(client, author, own_thread).status_code == 404
    html = page_of(client, author, note_thread)
    assert "held-reply" not in html and "(0 replies)" in html
    reading = page_of(client, author, document.get_absolute_url())
    assert side_count(reading, waiting.start_key) is None
    panel = reverse("paragraph_notes", kwargs={"slug": document.slug, "key": group_note.start_key})
    assert "Discussion (" not in page_of(client, author, panel)

    # Approved, both are there for everyone in the group.
    client.force_login(moderator)
    assert act(client, "approve", note=waiting).status_code == 302
    assert act(client, "approve", reply=held).status_code == 302
    assert "held-words" in page_of(client, author, own_thread)
    assert "held-reply" in page_of(client, author, note_thread)
    reading = page_of(client, author, document.get_absolute_url())
    assert side_count(reading, waiting.start_key) == "1 note on paragraph 7 | 1"
    assert "Discussion (1)" in page_of(client, author, panel)


def test_moderators_contributions_skip_pre_moderation(client, owner, moderator, club, group_note):
    switch_pre_moderation(client, owner, club, True)
    posted = discussion_services.reply_create(
        author=moderator, annotation_id=group_note.pk, body="mod"
    )
    assert posted.status == "active"


def test_a_rejected_contribution_is_hidden_with_a_reason(client, owner, moderator, member, club):
    switch_pre_moderation(client, owner, club, True)
    document = make_document(paragraphs=3)
    waiting = make_annotation(
        author=member, document=document, body="maybe", visibility="group", group=club
    )
    client.force_login(moderator)
    assert act(client, "reject", note=waiting).status_code == 302
    waiting.refresh_from_db()
    assert (waiting.status, waiting.moderation_reason) == (
        "hidden",
        "Not approved by a moderator.",
    )


def test_only_moderators_switch_pre_moderation(client, member, club):
    response = switch_pre_moderation(client, member, club, True)
    assert response.status_code == 403
    club.refresh_from_db()
    assert not club.pre_moderation
    assert not ModerationAction.objects.exists()


# Members: remove and ban ---------------------------------------------------------------------


def test_removing_a_member_takes_the_groups_notes_away(client, moderator, member, group_note, club):
    client.force_login(moderator)
    assert member_act(client, club, member, "remove", "Inactive").status_code == 302
    assert not Membership.objects.filter(group=club, user=member).exists()
    assert (
        get(client, member, reverse("annotation", kwargs={"pk": group_note.pk})).status_code == 404
    )
    assert get(client, member, reverse("group", kwargs={"slug": club.slug})).status_code == 404


def test_a_moderator_cannot_remove_a_fellow_moderator_or_the_owner(client, owner, moderator, club):
    fellow = MembershipFactory(
        group=club, user=UserFactory(username="fellow"), role=Membership.Role.MODERATOR
    ).user
    client.force_login(moderator)
    assert member_act(client, club, fellow, "remove").status_code == 403
    assert member_act(client, club, owner, "ban").status_code == 403
    assert Membership.objects.filter(group=club).count() == 5
    assert not Ban.objects.exists() and not ModerationAction.objects.exists()
    client.force_login(owner)
    assert member_act(client, club, fellow, "remove").status_code == 302
    assert not Membership.objects.filter(user=fellow).exists()


def test_a_banned_member_loses_the_group_and_cannot_rejoin_by_invite_link(
    client, moderator, member, group_note, club
):
    client.force_login(moderator)
    assert member_act(client, club, member, "ban", "Harassment").status_code == 302
    assert not Membership.objects.filter(group=club, user=member).exists()
    ban = Ban.objects.get()
    assert (ban.user, ban.banned_by, ban.reason) == (member, moderator, "Harassment")

    client.force_login(member)
    assert client.get(reverse("annotation", kwargs={"pk": group_note.pk})).status_code == 404
    assert client.get(reverse("group", kwargs={"slug": club.slug})).status_code == 404
    join = reverse("group_join", kwargs={"token": club.invite_token})
    response = client.post(join, follow=True)
    assert "You have been banned from this group and cannot rejoin it." in response.content.decode()
    assert not Membership.objects.filter(group=club, user=member).exists()

    # Once the ban is lifted, the link works again.
    client.force_login(moderator)
    assert member_act(client, club, member, "unban").status_code == 302
    client.force_login(member)
    assert client.post(join).status_code == 302
    assert Membership.objects.filter(group=club, user=member, role="member").exists()


def test_a_banned_author_can_no_longer_take_part_in_the_groups_threads(
    client, moderator, member, author, group_note, club
):
    discussion_services.reply_create(
        author=member, annotation_id=group_note.pk, body="member-words"
    )
    client.force_login(moderator)
    assert member_act(client, club, author, "ban", "Trolling").status_code == 302
    client.force_login(author)
    response = client.post(reverse("reply_create", kwargs={"pk": group_note.pk}), {"body": "ha"})
    assert response.status_code in (403, 404)
    assert Reply.objects.count() == 1
    thread = client.get(reverse("annotation", kwargs={"pk": group_note.pk}))
    assert "member-words" not in thread.content.decode()


# The log -------------------------------------------------------------------------------------


def test_every_act_writes_one_log_row_with_who_what_why_and_the_change(
    client, owner, moderator, member, author, staff, club, group_note, public_note
):
    answer = discussion_services.reply_create(author=author, annotation_id=group_note.pk, body="r")
    flag(member, note=group_note)
    flag(member, note=public_note)
    client.force_login(moderator)
    steps = [
        (lambda: act(client, "hide", note=group_note, reason="r1")),
        (lambda: act(client, "unhide", note=group_note, reason="r2")),
        (lambda: act(client, "hide", reply=answer, reason="r3")),
        (lambda: act(client, "lock", note=group_note, reason="r4")),
        (lambda: act(client, "unlock", note=group_note)),
        (lambda: switch_pre_moderation(client, moderator, club, True)),
    ]
    for step in steps:
        before = ModerationAction.objects.count()
        assert step().status_code == 302
        assert ModerationAction.objects.count() == before + 1
    waiting = discussion_services.reply_create(
        author=member, annotation_id=group_note.pk, body="w1"
    )
    client.force_login(moderator)
    assert act(client, "approve", reply=waiting).status_code == 302
    assert member_act(client, club, member, "remove", "r5").status_code == 302
    client.force_login(owner)
    MembershipFactory(group=club, user=member)
    assert member_act(client, club, member, "ban", "r6").status_code == 302
    assert member_act(client, club, member, "unban").status_code == 302
    client.force_login(staff)
    assert act(client, "dismiss", note=public_note, reason="r7").status_code == 302
    g, note, reply = club.slug, group_note.pk, answer.pk
    assert log_rows() == [
        ("moderator", "hide", g, note, None, "author", "r1", "active", "hidden"),
        ("moderator", "unhide", g, note, None, "author", "r2", "hidden", "active"),
        ("moderator", "hide", g, note, reply, "author", "r3", "active", "hidden"),
        ("moderator", "lock", g, note, None, "author", "r4", "open", "locked"),
        ("moderator", "unlock", g, note, None, "author", "", "locked", "open"),
        ("moderator", "pre_moderation", g, None, None, None, "", "off", "on"),
        ("moderator", "approve", g, note, waiting.pk, "member", "", "pending", "active"),
        ("moderator", "remove_member", g, None, None, "member", "r5", "member", "removed"),
        ("owner", "ban", g, None, None, "member", "r6", "member", "banned"),
        ("owner", "unban", g, None, None, "member", "", "banned", "may rejoin"),
        (
            "staff",
            "dismiss",
            None,
            public_note.pk,
            None,
            "author",
            "r7",
            "1 open flags",
            "dismissed",
        ),
    ]


def test_a_rejection_is_logged_as_a_rejection(client, owner, moderator, member, club, group_note):
    switch_pre_moderation(client, owner, club, True)
    waiting = discussion_services.reply_create(author=member, annotation_id=group_note.pk, body="w")
    client.force_login(moderator)
    assert act(client, "reject", reply=waiting, reason="Off topic").status_code == 302
    assert log_rows()[-1] == (
        "moderator",
        "reject",
        club.slug,
        group_note.pk,
        waiting.pk,
        "member",
        "Off topic",
        "pending",
        "hidden",
    )


def test_the_log_page_shows_the_acts_to_the_moderators(
    client, owner, moderator, staff, club, group_note, public_note
):
    client.force_login(moderator)
    act(client, "hide", note=group_note, reason="Spoilers")
    client.force_login(staff)
    act(client, "lock", note=public_note, reason="Heated")
    for viewer in (owner, moderator):
        html = page_of(client, viewer, log_url(club))
        assert "<td>moderator</td>" in html and "<td>Hid</td>" in html
        assert "<td>Spoilers</td>" in html and "active → hidden" in html
        assert "Heated" not in html
    html = page_of(client, staff, log_url())
    assert "Locked the thread" in html and "Heated" in html and "Spoilers" not in html


def test_the_log_cannot_be_changed_or_deleted(moderator, group_note):
    moderation.item_hide(
        moderator=moderator, target=moderation.item_find(annotation_id=group_note.pk), reason="x"
    )
    rows = ModerationAction.objects.all()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        rows.update(reason="nothing happened")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        rows.update(new_state="active")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        rows.delete()
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM annotations_moderationaction")
    assert list(rows.values_list("reason", "new_state")) == [("x", "hidden")]


def test_deleting_the_people_in_the_log_keeps_the_record(
    client, owner, moderator, author, group_note, club
):
    moderation.item_hide(
        moderator=moderator, target=moderation.item_find(annotation_id=group_note.pk), reason="x"
    )
    moderation.member_remove(moderator=owner, group=club, user_id=author.pk, reason="gone")
    get_user_model().objects.filter(pk__in=[author.pk, moderator.pk]).delete()
    assert not Annotation.objects.filter(pk=group_note.pk).exists()
    assert log_rows() == [
        (None, "hide", club.slug, None, None, None, "x", "active", "hidden"),
        ("owner", "remove_member", club.slug, None, None, None, "gone", "member", "removed"),
    ]
    html = page_of(client, owner, log_url(club))
    assert "(deleted account)" in html


def test_the_admin_cannot_add_change_or_delete_log_rows(moderator, group_note):
    moderation.item_hide(
        moderator=moderator, target=moderation.item_find(annotation_id=group_note.pk), reason="x"
    )
    request = RequestFactory().get("/admin/")
    request.user = UserFactory(username="root", is_staff=True, is_superuser=True)
    log_admin = admin.site._registry[ModerationAction]
    row = ModerationAction.objects.get()
    assert log_admin.has_view_permission(request, row)
    assert not log_admin.has_add_permission(request)
    assert not log_admin.has_change_permission(request, row)
    assert not log_admin.has_delete_permission(request, row)
    assert not log_admin.has_delete_permission(request)


# Who may act ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("person", "status"),
    [("member", 403), ("author", 403), ("outsider", 404), ("other_moderator", 404), ("staff", 404)],
)
def test_only_this_groups_moderators_act_on_its_notes(
    client, people, person, status, group_note, other_circle
):
    flag(people["member"], note=group_note)
    client.force_login(people[person])
    for name in ("hide", "dismiss", "lock"):
        assert act(client, name, note=group_note, reason="because").status_code == status
    group_note.refresh_from_db()
    assert (group_note.status, group_note.locked) == ("active", False)
    assert Flag.objects.get().resolved_at is None
    assert not ModerationAction.objects.exists()


def test_group_moderators_have_no_say_over_public_notes(client, moderator, owner, public_note):
    for who in (moderator, owner):
        client.force_login(who)
        assert act(client, "hide", note=public_note, reason="no").status_code == 403
    public_note.refresh_from_db()
    assert public_note.status == "active"


def test_forged_or_unknown_items_are_404(client, moderator, group_note):
    client.force_login(moderator)
    assert act(client, "hide", note=Annotation(pk=987654), reason="x").status_code == 404
    assert act(client, "hide", reply=Reply(pk=987654), reason="x").status_code == 404
    response = client.post(reverse("moderation_act"), {"act": "hide", "annotation": "1 OR 1=1"})
    assert response.status_code == 404
    response = client.post(
        reverse("moderation_act"), {"act": "explode", "annotation": group_note.pk}
    )
    assert response.status_code == 400
    assert "Choose an act and one item." in response.content.decode()
    both = client.post(
        reverse("moderation_act"), {"act": "hide", "annotation": group_note.pk, "reply": 1}
    )
    assert both.status_code == 400
    missing_group = reverse("group_member_act", kwargs={"slug": "no-such-group", "user_id": 1})
    assert client.post(missing_group, {"act": "ban"}).status_code == 404
    assert not ModerationAction.objects.exists()


def test_a_reply_a_member_cannot_see_is_404_to_their_moderation_act(
    client, moderator, member, author, group_note
):
    hidden = discussion_services.reply_create(
        author=author, annotation_id=group_note.pk, body="secret"
    )
    moderation.item_hide(
        moderator=moderator, target=moderation.item_find(reply_id=hidden.pk), reason="x"
    )
    client.force_login(member)
    assert act(client, "unhide", reply=hidden).status_code == 404
    hidden.refresh_from_db()
    assert hidden.status == "hidden"
