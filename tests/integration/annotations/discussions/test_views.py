"""Discussion threads as readers meet them: replies and replies to replies, editing and deleting,
paragraph and document discussions, questions with reactions and an accepted answer."""

from __future__ import annotations

import re
import threading
import time
from urllib.parse import parse_qs

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from annotations.discussions import services as discussion_services
from annotations.discussions.threads import MAX_VISIBLE_DEPTH, thread_for
from annotations.groups import services as group_services
from annotations.models import Annotation, Flag, Reaction, Reply
from annotations.moderation import services as moderation
from tests.factories import UserFactory, make_annotation
from tests.factories import make_document as _make_document

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def document():
    return _make_document(paragraphs=8, title="Walden")


@pytest.fixture
def public_note(author, document):
    return make_annotation(
        author=author, document=document, position=2, body="Why a pond?", visibility="public"
    )


@pytest.fixture
def group_note(author, document, club):
    return make_annotation(
        author=author,
        document=document,
        position=3,
        body="Club eyes only",
        visibility="group",
        group=club,
    )


def reply(author, note, body: str, parent: Reply | None = None) -> Reply:
    return discussion_services.reply_create(
        author=author, annotation_id=note.pk, body=body, parent_id=parent.pk if parent else None
    )


def thread_url(note) -> str:
    return reverse("annotation", kwargs={"pk": note.pk})


def replies_url(note) -> str:
    return reverse("reply_create", kwargs={"pk": note.pk})


def thread_html(client, note) -> str:
    response = client.get(thread_url(note))
    assert response.status_code == 200
    return response.content.decode()


def shown_replies(html: str) -> list[tuple[int, int]]:
    """(reply id, depth) of each reply in the thread, in page order."""
    return [
        (int(pk), int(depth))
        for depth, pk in re.findall(r'<li class="reply depth-(\d+)[^"]*" id="reply-(\d+)"', html)
    ]


# Replying ----------------------------------------------------------------------------------


def test_a_reader_replies_and_finds_the_reply_in_the_thread(client, member, public_note):
    client.force_login(member)
    response = client.post(replies_url(public_note), {"body": "Because it *stays*."})
    created = Reply.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"{thread_url(public_note)}#reply-{created.pk}"
    assert (created.author, created.parent, created.status) == (member, None, "active")
    html = thread_html(client, public_note)
    assert "Because it <em>stays</em>." in html
    assert "(1 reply)" in html
    assert shown_replies(html) == [(created.pk, 0)]


def test_a_reply_with_htmx_answers_with_the_panel_and_announces_it(client, member, public_note):
    client.force_login(member)
    response = client.post(replies_url(public_note), {"body": "Agreed."}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    created = Reply.objects.get()
    assert f'id="reply-{created.pk}"' in html and "is-new" in html
    assert '<div hx-swap-oob="innerHTML:#status">Reply posted.</div>' in html
    assert "<html" not in html


def test_replies_to_replies_nest_three_levels_deep(client, author, member, outsider, public_note):
    client.force_login(member)
    client.post(replies_url(public_note), {"body": "Level one"})
    first = Reply.objects.get(body="Level one")
    client.force_login(outsider)
    client.post(replies_url(public_note), {"body": "Level two", "parent": first.pk})
    second = Reply.objects.get(body="Level two")
    client.force_login(author)
    client.post(replies_url(public_note), {"body": "Level three", "parent": second.pk})
    third = Reply.objects.get(body="Level three")
    assert (second.parent, third.parent) == (first, second)
    html = thread_html(client, public_note)
    assert shown_replies(html) == [(first.pk, 0), (second.pk, 1), (third.pk, 2)]
    assert "(3 replies)" in html


def test_editing_a_reply_shows_it_as_edited(client, member, public_note):
    created = reply(member, public_note, "Frist")
    assert "edited" not in thread_html(client, public_note)
    client.force_login(member)
    url = reverse("reply_edit", kwargs={"pk": created.pk})
    form = client.get(url)
    assert form.status_code == 200
    assert 'name="version" value="1"' in form.content.decode()
    response = client.post(url, {"body": "First", "version": 1})
    assert response.status_code == 302
    created.refresh_from_db()
    assert (created.body, created.version) == ("First", 2)
    assert created.edited_at is not None
    html = thread_html(client, public_note)
    assert '<span class="edited meta"' in html
    assert "First" in html and "Frist" not in html


def test_an_edit_from_a_stale_form_answers_409_and_keeps_the_newer_text(
    client, member, public_note
):
    created = reply(member, public_note, "one")
    client.force_login(member)
    url = reverse("reply_edit", kwargs={"pk": created.pk})
    assert client.post(url, {"body": "two", "version": 1}).status_code == 302
    response = client.post(url, {"body": "from the old tab", "version": 1})
    assert response.status_code == 409
    assert "This reply was changed elsewhere since you opened it." in response.content.decode()
    created.refresh_from_db()
    assert (created.body, created.version) == ("two", 2)


def test_only_the_author_edits_or_deletes_a_reply(client, member, outsider, public_note):
    created = reply(member, public_note, "mine")
    client.force_login(outsider)
    edit = reverse("reply_edit", kwargs={"pk": created.pk})
    delete = reverse("reply_delete", kwargs={"pk": created.pk})
    assert client.get(edit).status_code == 403
    assert client.post(edit, {"body": "defaced", "version": 1}).status_code == 403
    assert client.post(delete).status_code == 403
    created.refresh_from_db()
    assert (created.body, created.status, created.version) == ("mine", "active", 1)


def test_a_deleted_reply_with_answers_stays_as_a_placeholder_without_its_text(
    client, author, member, outsider, public_note
):
    parent = reply(member, public_note, "Regrettable words")
    child = reply(outsider, public_note, "An answer to it", parent)
    client.force_login(member)
    response = client.post(reverse("reply_delete", kwargs={"pk": parent.pk}))
    assert response.status_code == 302
    parent.refresh_from_db()
    assert parent.status == "deleted"
    for viewer in (member, author, outsider):
        client.force_login(viewer)
        html = thread_html(client, public_note)
        assert "Regrettable words" not in html
        assert '<p class="placeholder">[deleted]</p>' in html
        assert shown_replies(html) == [(parent.pk, 0), (child.pk, 1)]
        assert "An answer to it" in html
        assert "(1 reply)" in html


def test_a_deleted_reply_without_answers_disappears(client, member, public_note):
    gone = reply(member, public_note, "Never mind")
    discussion_services.reply_delete(reply_id=gone.pk, by=member)
    client.force_login(member)
    html = thread_html(client, public_note)
    assert "Never mind" not in html and "[deleted]" not in html
    assert "No replies yet." in html
    assert client.get(reverse("reply_edit", kwargs={"pk": gone.pk})).status_code == 404


# Who sees a reply: exactly who sees its note ------------------------------------------------


def test_a_reply_on_a_group_note_is_seen_by_the_group_only(client, member, outsider, group_note):
    reply(member, group_note, "Between us")
    client.force_login(outsider)
    assert client.get(thread_url(group_note)).status_code == 404
    response = client.post(replies_url(group_note), {"body": "Let me in"})
    assert response.status_code == 404
    assert list(Reply.objects.values_list("body", flat=True)) == ["Between us"]
    # Not through the reply's own page either.
    only = Reply.objects.get()
    assert client.get(reverse("reply_thread", kwargs={"pk": only.pk})).status_code == 404
    assert "Between us" not in client.get(group_note.document.get_absolute_url()).content.decode()
    client.force_login(member)
    assert "Between us" in thread_html(client, group_note)


def test_a_member_who_leaves_loses_the_groups_threads(client, member, club, group_note):
    written = reply(member, group_note, "My own words")
    group_services.group_leave(user=member, group=club)
    client.force_login(member)
    assert client.get(thread_url(group_note)).status_code == 404
    assert client.get(reverse("reply_thread", kwargs={"pk": written.pk})).status_code == 404
    assert client.post(replies_url(group_note), {"body": "still here?"}).status_code == 404
    assert Reply.objects.count() == 1


def test_a_private_note_has_a_thread_only_its_author_sees(client, author, outsider, document):
    private = make_annotation(author=author, document=document, body="diary")
    reply(author, private, "talking to myself")
    client.force_login(author)
    assert "talking to myself" in thread_html(client, private)
    client.force_login(outsider)
    assert client.get(thread_url(private)).status_code == 404
    assert client.post(replies_url(private), {"body": "hi"}).status_code == 404
    client.logout()
    assert client.get(thread_url(private)).status_code == 404
    assert Reply.objects.count() == 1


def test_anonymous_readers_see_public_threads_but_must_log_in_to_reply(client, member, public_note):
    reply(member, public_note, "Open to all")
    html = thread_html(client, public_note)
    assert "Open to all" in html
    assert "to reply." in html and 'class="reply-form"' not in html
    response = client.post(replies_url(public_note), {"body": "anon"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert Reply.objects.count() == 1


# Paragraph and document discussions ----------------------------------------------------------


def discuss(client, document, **data):
    payload = {"colour": "yellow", "visibility": "public", "tags": "", **data}
    return client.post(reverse("discussion_new", kwargs={"slug": document.slug}), payload)


def side_count(html: str, key: str) -> str | None:
    side = re.search(rf'<span class="pside" id="s-{key}">(.*?)</span>', html, re.S)
    assert side, f"paragraph {key} has no side controls"
    link = re.search(r'<a class="count" href="[^"]*" aria-label="([^"]*)">(\d+)</a>', side[1])
    return None if link is None else f"{link[1]} | {link[2]}"


def test_a_paragraph_discussion_counts_in_its_margin_and_draws_no_mark(
    client, author, outsider, document
):
    paragraph = document.current_revision.paragraphs.get(position=4)
    client.force_login(author)
    response = discuss(client, document, paragraph=paragraph.key, body="What is this about?")
    assert response.status_code == 302
    discussion = Annotation.objects.get()
    assert response["Location"] == thread_url(discussion)
    assert (discussion.kind, discussion.start_key, discussion.exact) == (
        "paragraph",
        paragraph.key,
        "",
    )
    for viewer in (author, outsider):
        client.force_login(viewer)
        html = client.get(document.get_absolute_url()).content.decode()
        assert side_count(html, paragraph.key) == "1 note on paragraph 5 | 1"
        assert f'data-annotation="{discussion.pk}"' not in html  # no mark: it quotes no words
        others = document.current_revision.paragraphs.exclude(pk=paragraph.pk)
        assert all(side_count(html, p.key) is None for p in others)
        panel = reverse("paragraph_notes", kwargs={"slug": document.slug, "key": paragraph.key})
        assert "What is this about?" in client.get(panel).content.decode()
    assert "on the whole paragraph" in thread_html(client, discussion)


def test_a_document_discussion_is_listed_and_counted_in_the_link(
    client, author, member, outsider, document, club
):
    client.force_login(author)
    assert discuss(client, document, body="The whole book, then").status_code == 302
    assert (
        discuss(
            client, document, body="Club-only thoughts", visibility="group", group=club.pk
        ).status_code
        == 302
    )
    public, grouped = Annotation.objects.order_by("pk")
    assert (public.kind, grouped.kind) == ("document", "document")
    listing = reverse("document_discussions", kwargs={"slug": document.slug})
    for viewer, visible in ((member, 2), (outsider, 1)):
        client.force_login(viewer)
        html = client.get(document.get_absolute_url()).content.decode()
        assert f"Discussions on the whole document ({visible})</a>" in html
        assert 'class="count"' not in html  # no paragraph counts it
        listed = client.get(listing).content.decode()
        assert "The whole book, then" in listed
        assert ("Club-only thoughts" in listed) is (visible == 2)
    client.logout()
    assert "The whole book, then" in client.get(listing).content.decode()


def test_a_discussion_on_a_paragraph_that_is_not_there_is_404(client, author, document):
    client.force_login(author)
    response = discuss(client, document, paragraph="no-such-key", body="hello")
    assert response.status_code == 404
    assert not Annotation.objects.exists()


def test_an_empty_discussion_is_refused(client, author, document):
    client.force_login(author)
    response = discuss(client, document, body="   ")
    assert response.status_code == 400
    assert "Write something before posting." in response.content.decode()
    assert not Annotation.objects.exists()


# Questions and reactions ---------------------------------------------------------------------


@pytest.fixture
def question(author, document):
    return discussion_services.discussion_create(
        author=author,
        document=document,
        paragraph_key=None,
        body="Where is the pond?",
        visibility="public",
        is_question=True,
    )


def react(client, note, kind: str):
    return client.post(reverse("react", kwargs={"pk": note.pk}), {"kind": kind})


def reaction_counts(html: str) -> list[str]:
    return re.findall(
        r'aria-pressed="(true|false)">([^<]*)<span class="reaction-count">(\d+)', html
    )


def test_same_question_and_plus_one_count_once_each_and_can_be_taken_back(
    client, member, outsider, question
):
    client.force_login(member)
    assert react(client, question, "same_question").status_code == 302
    assert react(client, question, "plus_one").status_code == 302
    client.force_login(outsider)
    assert react(client, question, "same_question").status_code == 302
    assert Reaction.objects.filter(annotation=question).count() == 3
    html = thread_html(client, question)
    assert reaction_counts(html) == [("false", "+1 ", "1"), ("true", "Same question ", "2")]
    # Pressing again takes it back.
    assert react(client, question, "same_question").status_code == 302
    assert reaction_counts(thread_html(client, question)) == [
        ("false", "+1 ", "1"),
        ("false", "Same question ", "1"),
    ]
    assert sorted(Reaction.objects.values_list("user__username", "kind")) == [
        ("member", "plus_one"),
        ("member", "same_question"),
    ]


def test_the_author_sees_the_counts_but_cannot_react_to_their_own_note(
    client, author, member, question
):
    discussion_services.reaction_toggle(user=member, annotation_id=question.pk, kind="plus_one")
    client.force_login(author)
    html = thread_html(client, question)
    assert '<span class="reaction-static">+1 · 1</span>' in html
    assert 'name="kind"' not in html
    response = react(client, question, "same_question")
    assert response.status_code == 403
    assert "You cannot react to this note." in response.content.decode()
    assert list(Reaction.objects.values_list("user__username", flat=True)) == ["member"]


def test_only_a_question_can_be_asked_again(client, member, public_note):
    client.force_login(member)
    response = react(client, public_note, "same_question")
    assert response.status_code == 400
    assert "Only a question can be asked again." in response.content.decode()
    response = react(client, public_note, "love")
    assert response.status_code == 400
    assert "Unknown reaction." in response.content.decode()
    assert not Reaction.objects.exists()


def test_the_author_marks_a_note_as_a_question(client, author, member, public_note):
    client.force_login(member)
    url = reverse("question", kwargs={"pk": public_note.pk})
    assert client.post(url, {"is_question": "1"}).status_code == 403
    client.force_login(author)
    assert client.post(url, {"is_question": "1"}).status_code == 302
    public_note.refresh_from_db()
    assert public_note.is_question
    assert '<p class="badge question-badge">Question</p>' in thread_html(client, public_note)


@pytest.mark.django_db(transaction=True)
def test_pressing_twice_at_once_stores_the_reaction_once(member, question):
    """Two presses race: the first has stored its reaction but not committed when the second
    arrives. The unique constraint makes the second wait, then fail quietly: one reaction."""
    stored = threading.Event()
    answers: dict[str, object] = {}

    def second_is_waiting() -> bool:
        with connection.cursor() as cursor:
            # Activity is read once per transaction unless the snapshot is cleared.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            return cursor.fetchone()[0] > 0

    def first_press():
        try:
            with transaction.atomic():
                answers["first"] = discussion_services.reaction_toggle(
                    user=member, annotation_id=question.pk, kind="same_question"
                )
                stored.set()
                deadline = time.monotonic() + 10
                while not second_is_waiting() and time.monotonic() < deadline:
                    time.sleep(0.02)
                answers["second_waited"] = second_is_waiting()
        except Exception as error:  # reported below, in the test's own thread
            answers["first"] = error
        finally:
            stored.set()
            connection.close()

    def second_press():
        try:
            stored.wait(10)
            answers["second"] = discussion_services.reaction_toggle(
                user=member, annotation_id=question.pk, kind="same_question"
            )
        except Exception as error:
            answers["second"] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=first_press), threading.Thread(target=second_press)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert answers == {"first": True, "second": True, "second_waited": True}
    assert Reaction.objects.filter(annotation=question, user=member).count() == 1


# Answers -------------------------------------------------------------------------------------


def mark_answer(client, note, chosen: Reply | None):
    return client.post(
        reverse("answer", kwargs={"pk": note.pk}), {"reply": chosen.pk if chosen else ""}
    )


def test_the_asker_marks_the_answer_and_it_comes_first(client, author, member, outsider, question):
    early = reply(member, question, "Maybe by the road")
    late = reply(outsider, question, "South of the town")
    client.force_login(author)
    assert mark_answer(client, question, late).status_code == 302
    question.refresh_from_db()
    assert question.answer == late
    html = thread_html(client, question)
    assert shown_replies(html) == [(late.pk, 0), (early.pk, 0)]
    accepted = re.search(
        r'<div class="accepted-answer" role="note">(.*?)</div>\s*</div>', html, re.S
    )
    assert accepted and "South of the town" in accepted[1]
    assert '<p class="badge question-badge">Question · answered</p>' in html
    # And back to no answer.
    assert mark_answer(client, question, None).status_code == 302
    question.refresh_from_db()
    assert question.answer is None


def test_a_group_moderator_marks_the_answer_but_another_member_cannot(
    client, author, member, moderator, outsider, club, document
):
    asked = discussion_services.discussion_create(
        author=author,
        document=document,
        paragraph_key=None,
        body="Which chapter?",
        visibility="group",
        group=club,
        is_question=True,
    )
    answer = reply(member, asked, "The second")
    client.force_login(member)
    response = mark_answer(client, asked, answer)
    assert response.status_code == 403
    client.force_login(outsider)
    assert mark_answer(client, asked, answer).status_code == 404
    asked.refresh_from_db()
    assert asked.answer is None
    client.force_login(moderator)
    assert mark_answer(client, asked, answer).status_code == 302
    asked.refresh_from_db()
    assert asked.answer == answer


def test_the_answer_must_be_a_live_reply_of_this_thread(
    client, author, member, question, public_note
):
    elsewhere = reply(member, public_note, "Other thread")
    client.force_login(author)
    response = mark_answer(client, question, elsewhere)
    assert response.status_code == 400
    assert "That reply is not in this thread." in response.content.decode()
    withdrawn = reply(member, question, "withdrawn")
    discussion_services.reply_delete(reply_id=withdrawn.pk, by=member)
    assert mark_answer(client, question, withdrawn).status_code == 400
    question.refresh_from_db()
    assert question.answer is None


def test_only_a_question_has_an_answer(client, author, member, public_note):
    answer = reply(member, public_note, "An answer to no question")
    client.force_login(author)
    assert mark_answer(client, public_note, answer).status_code == 403
    public_note.refresh_from_db()
    assert public_note.answer is None


# Sorting -------------------------------------------------------------------------------------


def test_discussions_can_be_sorted_by_reactions(client, author, member, outsider, document):
    quiet, loud, middling = (
        discussion_services.discussion_create(
            author=author, document=document, paragraph_key=None, body=body, visibility="public"
        )
        for body in ("Quiet one", "Loud one", "Middling one")
    )
    for fan in (member, outsider):
        discussion_services.reaction_toggle(user=fan, annotation_id=loud.pk, kind="plus_one")
    discussion_services.reaction_toggle(user=member, annotation_id=middling.pk, kind="plus_one")
    listing = reverse("document_discussions", kwargs={"slug": document.slug})

    def order(html: str) -> list[int]:
        return [int(pk) for pk in re.findall(r'<article class="note[^"]*" id="note-(\d+)"', html)]

    newest = client.get(listing).content.decode()
    assert order(newest) == [middling.pk, loud.pk, quiet.pk]
    by_reactions = client.get(listing, {"sort": "reactions"}).content.decode()
    assert order(by_reactions) == [loud.pk, middling.pk, quiet.pk]
    assert "<strong>most reactions</strong>" in by_reactions


# Placeholders: who sees what of a thread -----------------------------------------------------


def test_a_hidden_reply_is_seen_by_its_author_and_the_moderators_only(
    client, author, member, moderator, owner, outsider, club, group_note
):
    root = reply(author, group_note, "Opening")
    hidden = reply(member, group_note, "Rude words", root)
    target = moderation.item_find(reply_id=hidden.pk)
    moderation.item_hide(moderator=moderator, target=target, reason="Be kind")
    for viewer in (member, moderator, owner):
        thread = thread_for(viewer, group_note)
        nodes = thread.nodes[0].children
        assert [n.reply.body for n in nodes] == ["Rude words"], viewer
        assert (thread.count, thread.placeholders) == (2, 0)
    client.force_login(member)
    html = thread_html(client, group_note)
    assert "Rude words" in html
    assert "<strong>Hidden by a moderator</strong>: Be kind." in html
    client.force_login(author)  # the note's author, not the reply's
    html = thread_html(client, group_note)
    assert "Rude words" not in html and "Be kind" not in html
    assert f'id="reply-{hidden.pk}"' not in html  # no answers below it: no placeholder
    thread = thread_for(author, group_note)
    assert (thread.count, thread.placeholders) == (1, 0)
    assert thread.nodes[0].children == []


def test_a_hidden_reply_with_visible_answers_is_a_placeholder_for_the_others(
    client, author, member, moderator, outsider, group_note
):
    hidden = reply(member, group_note, "Rude words")
    below = reply(author, group_note, "Please don't", hidden)
    moderation.item_hide(
        moderator=moderator, target=moderation.item_find(reply_id=hidden.pk), reason="x"
    )
    client.force_login(author)
    html = thread_html(client, group_note)
    assert '<p class="placeholder">[removed by a moderator]</p>' in html
    assert "Rude words" not in html
    assert shown_replies(html) == [(hidden.pk, 0), (below.pk, 1)]
    thread = thread_for(author, group_note)
    assert (thread.count, thread.placeholders) == (1, 1)
    placeholder = thread.nodes[0].reply
    assert (placeholder.body, placeholder.body_html, placeholder.viewer_can_see) == ("", "", False)


def test_a_deleted_reply_keeps_no_text_even_for_moderators(
    client, author, member, moderator, group_note
):
    gone = reply(member, group_note, "Deleted thought")
    reply(author, group_note, "Reply to it", gone)
    discussion_services.reply_delete(reply_id=gone.pk, by=member)
    for viewer in (member, moderator, author):
        thread = thread_for(viewer, group_note)
        placeholder = thread.nodes[0].reply
        assert (placeholder.pk, placeholder.body, placeholder.viewer_can_see) == (
            gone.pk,
            "",
            False,
        )
        assert (thread.count, thread.placeholders) == (1, 1)
        client.force_login(viewer)
        html = thread_html(client, group_note)
        assert "Deleted thought" not in html and "[deleted]" in html


# Deep threads --------------------------------------------------------------------------------


def test_continue_this_thread_shows_the_deeper_replies(client, member, public_note, settings):
    settings.RATE_LIMITS_ENABLED = False
    parent = None
    chain = []
    for n in range(MAX_VISIBLE_DEPTH + 2):
        parent = reply(member, public_note, f"Depth {n} words", parent)
        chain.append(parent)
    html = thread_html(client, public_note)
    last_shown = chain[MAX_VISIBLE_DEPTH - 1]
    more = reverse("reply_thread", kwargs={"pk": last_shown.pk})
    assert f'<a href="{more}">Continue this thread (2 more)</a>' in html
    assert f"Depth {MAX_VISIBLE_DEPTH} words" not in html
    deeper = client.get(more)
    assert deeper.status_code == 200
    html = deeper.content.decode()
    assert f"Depth {MAX_VISIBLE_DEPTH} words" in html
    assert f"Depth {MAX_VISIBLE_DEPTH + 1} words" in html


# Cost ----------------------------------------------------------------------------------------


def test_a_500_reply_thread_costs_the_same_queries_as_a_5_reply_thread(
    client, author, member, moderator, outsider, group_note, settings
):
    """Nested replies, a hidden one, a deleted one with answers and an accepted answer: the
    thread page is one query for all replies, whatever their number."""
    settings.RATE_LIMITS_ENABLED = False
    discussion_services.question_set(annotation_id=group_note.pk, by=author, is_question=True)
    first = reply(member, group_note, "first")
    second = reply(author, group_note, "second", first)
    hidden = reply(member, group_note, "hidden one", second)
    reply(author, group_note, "below the hidden one", hidden)
    deleted = reply(member, group_note, "deleted one")
    reply(author, group_note, "below the deleted one", deleted)
    moderation.item_hide(
        moderator=moderator, target=moderation.item_find(reply_id=hidden.pk), reason="no"
    )
    discussion_services.reply_delete(reply_id=deleted.pk, by=member)
    discussion_services.answer_mark(annotation_id=group_note.pk, reply_id=first.pk, by=author)
    assert Reply.objects.count() == 6

    def measure(viewer) -> tuple[int, str]:
        client.force_login(viewer)
        with CaptureQueriesContext(connection) as queries:
            html = thread_html(client, group_note)
        return len(queries), html

    small = {viewer.pk: measure(viewer) for viewer in (member, moderator)}
    # Grow it to 500: chains and fans under the first replies, by several people.
    people = [author, member, moderator]
    parents = [first.pk, second.pk, None]
    batch = []
    for n in range(494):
        parent_id = parents[n % len(parents)]
        batch.append(
            Reply(
                annotation=group_note,
                parent_id=parent_id,
                author=people[n % 3],
                body=f"reply {n}",
                body_html=f"<p>reply {n}</p>",
            )
        )
        if n % 50 == 0:
            created = Reply.objects.bulk_create(batch)
            parents.append(created[-1].pk)
            batch = []
    Reply.objects.bulk_create(batch)
    assert Reply.objects.filter(annotation=group_note).count() == 500
    for viewer in (member, moderator):
        queries, html = measure(viewer)
        assert queries == small[viewer.pk][0], viewer.username
        assert "reply 493" in html


# Bad input: refused with a message, nothing stored -------------------------------------------


@pytest.mark.parametrize("body", ["", "   \n  "])
def test_an_empty_reply_is_refused(client, member, public_note, body):
    client.force_login(member)
    response = client.post(replies_url(public_note), {"body": body})
    assert response.status_code == 400
    assert "Write something before posting." in response.content.decode()
    assert not Reply.objects.exists()


def test_an_over_long_reply_is_refused(client, member, public_note, settings):
    settings.ANNOTATION_BODY_MAX_CHARS = 50
    client.force_login(member)
    assert client.post(replies_url(public_note), {"body": "x" * 50}).status_code == 302
    response = client.post(replies_url(public_note), {"body": "y" * 51})
    assert response.status_code == 400
    assert "is 51 characters long; the limit is 50." in response.content.decode()
    assert list(Reply.objects.values_list("body", flat=True)) == ["x" * 50]
    # Nor can an edit make it too long.
    edit = reverse("reply_edit", kwargs={"pk": Reply.objects.get().pk})
    response = client.post(edit, {"body": "z" * 51, "version": 1})
    assert response.status_code == 400
    assert Reply.objects.get().body == "x" * 50


def test_an_over_long_discussion_is_refused(client, author, document, settings):
    settings.ANNOTATION_BODY_MAX_CHARS = 50
    client.force_login(author)
    response = discuss(client, document, body="w" * 51)
    assert response.status_code == 400
    assert "is 51 characters long; the limit is 50." in response.content.decode()
    assert not Annotation.objects.exists()


def test_a_hidden_note_takes_no_replies(client, author, member, moderator, group_note):
    moderation.item_hide(
        moderator=moderator, target=moderation.item_find(annotation_id=group_note.pk), reason="x"
    )
    # Its author still sees it, and is told why they cannot reply...
    client.force_login(author)
    response = client.post(replies_url(group_note), {"body": "but why"})
    assert response.status_code == 400
    assert "This note is not open for replies." in response.content.decode()
    # ...the members no longer see it at all.
    client.force_login(member)
    assert client.post(replies_url(group_note), {"body": "hello?"}).status_code == 404
    assert not Reply.objects.exists()


def test_a_reply_cannot_answer_a_reply_of_another_thread(client, member, public_note, document):
    other_note = make_annotation(
        author=member, document=document, position=5, body="Elsewhere", visibility="public"
    )
    elsewhere = reply(member, other_note, "In the other thread")
    client.force_login(member)
    for forged in (elsewhere.pk, 987654):
        response = client.post(replies_url(public_note), {"body": "hi", "parent": forged})
        assert response.status_code == 400
        assert "The reply you answered is not in this thread." in response.content.decode()
    assert list(Reply.objects.values_list("body", flat=True)) == ["In the other thread"]


def test_a_reply_cannot_answer_a_reply_the_reader_cannot_see(
    client, author, member, moderator, outsider, group_note
):
    hidden = reply(member, group_note, "Rude words")
    moderation.item_hide(
        moderator=moderator, target=moderation.item_find(reply_id=hidden.pk), reason="x"
    )
    client.force_login(author)  # sees the note, not the hidden reply
    response = client.post(replies_url(group_note), {"body": "to it", "parent": hidden.pk})
    assert response.status_code == 400
    assert "The reply you answered is not in this thread." in response.content.decode()
    client.force_login(member)  # its own author sees it, but it is closed
    response = client.post(replies_url(group_note), {"body": "to mine", "parent": hidden.pk})
    assert response.status_code == 400
    assert "That reply was removed: answer the thread instead." in response.content.decode()
    assert Reply.objects.count() == 1


def flag_url(note=None, reply=None) -> str:
    if reply is not None:
        return reverse("flag_reply", kwargs={"pk": reply.pk})
    return reverse("flag_annotation", kwargs={"pk": note.pk})


def test_flagging_twice_is_refused(client, member, public_note):
    answer = reply(UserFactory(username="outsider"), public_note, "flag me")
    client.force_login(member)
    for url in (flag_url(note=public_note), flag_url(reply=answer)):
        assert client.post(url, {"reason": "spam"}).status_code == 302
        again = client.post(url, {"reason": "abuse"})
        assert again.status_code == 400
        assert "You have already flagged this." in again.content.decode()
    assert sorted(Flag.objects.values_list("reason", flat=True)) == ["spam", "spam"]


def test_a_flag_needs_a_known_reason(client, member, public_note):
    client.force_login(member)
    for reason in ("boredom", ""):
        response = client.post(flag_url(note=public_note), {"reason": reason})
        assert response.status_code == 400
        html = response.content.decode()
        assert "Select a valid choice" in html or "This field is required." in html
    assert not Flag.objects.exists()


def test_the_flag_form_goes_to_the_moderators(client, member, public_note, group_note):
    client.force_login(member)
    response = client.get(flag_url(note=group_note))
    assert response.status_code == 200
    assert 'value="off_topic"' in response.content.decode()
    response = client.post(flag_url(note=group_note), {"reason": "off_topic", "comment": "Hm"})
    assert response.status_code == 302
    flag = Flag.objects.get()
    assert (flag.group, flag.reason, flag.comment) == (group_note.group, "off_topic", "Hm")


@pytest.mark.parametrize(
    ("method", "name", "data"),
    [
        ("get", "annotation", {}),
        ("post", "reply_create", {"body": "hi"}),
        ("post", "react", {"kind": "plus_one"}),
        ("post", "question", {"is_question": "1"}),
        ("post", "answer", {"reply": "1"}),
        ("post", "flag_annotation", {"reason": "spam"}),
        ("post", "flag_reply", {"reason": "spam"}),
        ("get", "reply_thread", {}),
        ("get", "reply_edit", {}),
        ("post", "reply_delete", {}),
        ("get", "notification_open", {}),
    ],
)
def test_unknown_ids_are_404(client, member, public_note, method, name, data):
    client.force_login(member)
    response = getattr(client, method)(reverse(name, kwargs={"pk": 987654}), data)
    assert response.status_code == 404
    assert not Reply.objects.exists() and not Flag.objects.exists()
    assert not Reaction.objects.exists()


def test_logging_in_to_start_a_discussion_comes_back_to_the_same_address(client):
    """The whole address survives the trip to the login page, its query string included."""
    document = _make_document(paragraphs=3)
    key = document.current_revision.paragraphs.order_by("position").first().key
    asked = f"{reverse('discussion_new', kwargs={'slug': document.slug})}?paragraph={key}&x=1"
    response = client.get(asked)
    assert response.status_code == 302
    login, _, query = response["Location"].partition("?")
    assert login == reverse("login")
    assert parse_qs(query) == {"next": [asked]}
