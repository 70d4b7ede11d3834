"""Notifications: who is told of what (never of something they may not see), the bell, reading
them, and email after the write commits, with a one-click unsubscribe link."""

from __future__ import annotations

import re

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse

from annotations.discussions import services as discussion_services
from annotations.groups import services as group_services
from annotations.models import Notification, ReaderSettings
from annotations.moderation import services as moderation
from annotations.notifications.services import mentioned_usernames
from tests.factories import make_annotation
from tests.factories import make_document as _make_document

pytestmark = pytest.mark.django_db


@pytest.fixture
def document():
    return _make_document(paragraphs=6, title="Walden")


@pytest.fixture
def public_note(author, document):
    return make_annotation(author=author, document=document, body="Why?", visibility="public")


@pytest.fixture
def group_note(author, document, club):
    return make_annotation(
        author=author, document=document, position=2, body="Ours", visibility="group", group=club
    )


def reply(author, note, body: str, parent=None):
    return discussion_services.reply_create(
        author=author, annotation_id=note.pk, body=body, parent_id=parent.pk if parent else None
    )


def told(user) -> list[tuple[str, str]]:
    return list(
        Notification.objects.filter(recipient=user).order_by("id").values_list("kind", "message")
    )


def email_on(user) -> ReaderSettings:
    prefs, _ = ReaderSettings.objects.get_or_create(user=user)
    prefs.email_notifications = True
    prefs.save()
    return prefs


# Who is told ---------------------------------------------------------------------------------


def test_a_reply_to_my_note_tells_me(author, member, public_note):
    answer = reply(member, public_note, "Because.")
    assert told(author) == [("reply", "member replied to your note on “Walden”.")]
    notification = Notification.objects.get()
    assert (notification.actor, notification.annotation, notification.reply) == (
        member,
        public_note,
        answer,
    )
    assert told(member) == []


def test_a_reply_to_my_reply_tells_me_and_the_notes_author_once_each(
    author, member, outsider, public_note
):
    mine = reply(member, public_note, "First")
    Notification.objects.all().delete()
    reply(outsider, public_note, "Second", mine)
    assert told(member) == [("reply", "outsider replied to your reply on “Walden”.")]
    assert told(author) == [("reply", "outsider replied to your note on “Walden”.")]


def test_nobody_is_told_of_their_own_words(author, public_note):
    first = reply(author, public_note, "A thought of mine, @author")
    reply(author, public_note, "And another", first)
    assert not Notification.objects.exists()


def test_a_mention_tells_whoever_may_see_the_thread(author, member, outsider, public_note):
    reply(member, public_note, "@outsider, what do you think? And @nobody-here.")
    assert told(outsider) == [("mention", "member mentioned you in a discussion on “Walden”.")]
    assert [kind for kind, _ in told(author)] == ["reply"]  # told once, of the reply


def test_a_mention_in_a_new_discussion_tells_the_person(author, outsider, document):
    discussion_services.discussion_create(
        author=author,
        document=document,
        paragraph_key=None,
        body="cc @outsider.",
        visibility="public",
    )
    assert told(outsider) == [("mention", "author mentioned you in a discussion on “Walden”.")]


def test_a_mention_in_a_group_thread_never_reaches_an_outsider(
    author, member, outsider, group_note
):
    reply(author, group_note, "@outsider and @member, look")
    assert told(outsider) == []
    assert told(member) == [("mention", "author mentioned you in a discussion on “Walden”.")]


def test_a_mention_in_a_private_note_tells_nobody(author, outsider, member, document):
    private = make_annotation(author=author, document=document, body="Ask @outsider and @member")
    reply(author, private, "Really, @outsider")
    assert not Notification.objects.exists()


def test_mentions_are_read_like_a_reader_writes_them():
    assert mentioned_usernames("@ada and @bob. Also @ada, me@example.org") == ["ada", "bob"]
    assert mentioned_usernames("no one here") == []


def test_a_moderators_decision_tells_the_author(author, moderator, group_note):
    moderation.item_hide(
        moderator=moderator,
        target=moderation.item_find(annotation_id=group_note.pk),
        reason="Please cite the page",
    )
    assert told(author) == [
        ("moderation", "A moderator hid your contribution: Please cite the page")
    ]
    assert told(moderator) == []


def test_the_answer_to_my_question_tells_me(author, member, moderator, club, document):
    question = discussion_services.discussion_create(
        author=author,
        document=document,
        paragraph_key=None,
        body="Which year?",
        visibility="group",
        group=club,
        is_question=True,
    )
    answer = reply(member, question, "1854")
    Notification.objects.all().delete()
    # The asker picks it: the one who answered is told, the asker needs no telling.
    discussion_services.answer_mark(annotation_id=question.pk, reply_id=answer.pk, by=author)
    assert told(member) == [
        ("answer", "Your reply was chosen as the answer to a question on “Walden”.")
    ]
    assert told(author) == []
    # A moderator picks it: the asker is told too.
    Notification.objects.all().delete()
    discussion_services.answer_mark(annotation_id=question.pk, reply_id=answer.pk, by=moderator)
    assert told(author) == [("answer", "Your question on “Walden” has an answer.")]
    assert [kind for kind, _ in told(member)] == ["answer"]


def test_a_reader_who_left_is_not_told_of_the_groups_threads(author, member, club, group_note):
    earlier = reply(member, group_note, "Before I left")
    group_services.group_leave(user=member, group=club)
    Notification.objects.all().delete()
    reply(author, group_note, "An answer to you, @member", earlier)
    assert told(member) == []


def test_an_approved_reply_tells_the_notes_author(author, member, moderator, club, group_note):
    club.pre_moderation = True
    club.save()
    held = reply(member, group_note, "Held back")
    assert told(author) == []  # nothing while it waits
    moderation.item_approve(moderator=moderator, target=moderation.item_find(reply_id=held.pk))
    assert told(author) == [("reply", "member replied to your note on “Walden”.")]


# The bell and the list -----------------------------------------------------------------------


def bell(html: str) -> str | None:
    found = re.search(r'<span class="bell-count">(\d+)<span class="visually-hidden"> unread', html)
    return found[1] if found else None


def test_the_bell_counts_unread_notifications(client, author, member, outsider, public_note):
    client.force_login(author)
    assert bell(client.get(reverse("library")).content.decode()) is None
    reply(member, public_note, "one")
    reply(outsider, public_note, "two")
    assert bell(client.get(reverse("library")).content.decode()) == "2"
    client.force_login(member)
    assert bell(client.get(reverse("library")).content.decode()) is None


def test_marking_one_read_and_all_read(client, author, member, outsider, public_note):
    reply(member, public_note, "one")
    reply(outsider, public_note, "two")
    first, second = Notification.objects.filter(recipient=author).order_by("id")
    client.force_login(author)
    html = client.get(reverse("notifications")).content.decode()
    assert html.count('class="notification is-unread"') == 2
    response = client.post(reverse("notification_read", kwargs={"pk": first.pk}))
    assert response.status_code == 302
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.read_at is not None and second.read_at is None
    assert bell(client.get(reverse("notifications")).content.decode()) == "1"
    assert client.post(reverse("notifications_read_all")).status_code == 302
    assert not Notification.objects.filter(recipient=author, read_at__isnull=True).exists()
    assert bell(client.get(reverse("notifications")).content.decode()) is None


def test_nobody_reads_or_opens_someone_elses_notifications(client, author, member, public_note):
    reply(member, public_note, "one")
    theirs = Notification.objects.get()
    client.force_login(member)
    client.post(reverse("notification_read", kwargs={"pk": theirs.pk}))
    client.post(reverse("notifications_read_all"))
    assert client.get(reverse("notification_open", kwargs={"pk": theirs.pk})).status_code == 404
    assert "member replied" not in client.get(reverse("notifications")).content.decode()
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_opening_a_notification_marks_it_read_and_goes_to_the_reply(
    client, author, member, public_note
):
    answer = reply(member, public_note, "Go look")
    notification = Notification.objects.get()
    client.force_login(author)
    response = client.get(reverse("notification_open", kwargs={"pk": notification.pk}))
    assert response.status_code == 302
    assert response["Location"] == f"/annotations/{public_note.pk}/#reply-{answer.pk}"
    notification.refresh_from_db()
    assert notification.read_at is not None
    assert "Go look" in client.get(response["Location"]).content.decode()


def test_notifications_need_a_login(client):
    for url in (reverse("notifications"), reverse("notification_open", kwargs={"pk": 1})):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


# Email ---------------------------------------------------------------------------------------


def unsubscribe_path(body: str) -> str:
    link = re.search(r"(\S+/unsubscribe/[^/\s]+/)", body)[1]
    assert link.startswith(django_settings.SITE_URL.rstrip("/"))
    return link.removeprefix(django_settings.SITE_URL.rstrip("/"))


def test_an_email_goes_out_after_the_reply_commits(
    author, member, public_note, mailoutbox, django_capture_on_commit_callbacks
):
    prefs = email_on(author)
    with django_capture_on_commit_callbacks(execute=True):
        answer = reply(member, public_note, "Because.")
        assert mailoutbox == []  # not before the commit
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["author@example.org"]
    assert mail.subject == "Marginalia: member replied to your note on “Walden”."
    notification = Notification.objects.get()
    assert f"/notifications/{notification.pk}/" in mail.body
    path = unsubscribe_path(mail.body)
    assert path == f"/unsubscribe/{prefs.unsubscribe_token}/"
    assert mail.extra_headers["List-Unsubscribe"].endswith(f"{path}>")
    assert mail.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert answer.pk


def test_no_email_unless_asked_for_and_with_an_address(
    author, member, outsider, public_note, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        reply(member, public_note, "Not asked for")
    member.email = ""
    member.save()
    email_on(member)
    with django_capture_on_commit_callbacks(execute=True):
        reply(outsider, public_note, "@member, no address", None)
    assert Notification.objects.filter(recipient=member).count() == 1
    assert mailoutbox == []


def test_the_unsubscribe_link_in_the_email_switches_email_off(
    author, member, public_note, mailoutbox, django_capture_on_commit_callbacks
):
    email_on(author)
    with django_capture_on_commit_callbacks(execute=True):
        reply(member, public_note, "Because.")
    path = unsubscribe_path(mailoutbox[0].body)
    anonymous = Client()  # a mail client: no session
    response = anonymous.get(path)
    assert response.status_code == 200
    assert "You will get no more emails" in response.content.decode()
    assert not ReaderSettings.objects.get(user=author).email_notifications
    with django_capture_on_commit_callbacks(execute=True):
        reply(member, public_note, "Again")
    assert len(mailoutbox) == 1


def test_one_click_unsubscribe_by_post_needs_no_login_and_no_csrf_token(author):
    prefs = email_on(author)
    mail_client = Client(enforce_csrf_checks=True)
    response = mail_client.post(
        reverse("unsubscribe", kwargs={"token": prefs.unsubscribe_token}),
        {"List-Unsubscribe": "One-Click"},
    )
    assert response.status_code == 200
    prefs.refresh_from_db()
    assert not prefs.email_notifications


def test_a_bad_unsubscribe_token_is_404_and_changes_nothing(client, author):
    prefs = email_on(author)
    for method in (client.get, client.post):
        response = method(reverse("unsubscribe", kwargs={"token": "not-a-token"}))
        assert response.status_code == 404
        assert "This link does not work" in response.content.decode()
    prefs.refresh_from_db()
    assert prefs.email_notifications


def test_email_is_switched_on_from_the_notifications_page(client, author):
    client.force_login(author)
    response = client.post(reverse("notification_settings"), {"email": "1"}, follow=True)
    assert "Email notifications on." in response.content.decode()
    assert ReaderSettings.objects.get(user=author).email_notifications
    author.email = ""
    author.save()
    response = client.post(reverse("notification_settings"), {"email": "1"}, follow=True)
    assert "Add an email address to your account to receive emails." in response.content.decode()
    client.post(reverse("notification_settings"), {})
    assert not ReaderSettings.objects.get(user=author).email_notifications
