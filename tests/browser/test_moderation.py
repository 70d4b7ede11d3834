"""A group discussion moderated in Chromium: members reply three levels deep through the note's
panel, a member flags a reply, the group's moderator hides it from the queue with a reason, and
each person then sees what the policy says they should; the log keeps the act."""

from __future__ import annotations

import re

import pytest

from annotations.groups import services as group_services
from annotations.models import (
    Annotation,
    Flag,
    Membership,
    ModerationAction,
    Notification,
    Reply,
)
from reader.services import document_import
from tests.browser.helpers import log_in, new_context_page
from tests.factories import MembershipFactory, UserFactory, make_annotation

pytestmark = pytest.mark.django_db(transaction=True)

TEXTS = [
    "The quiet river runs past the lantern at night, and nobody on the bank says a word.",
    "A silver morning finds the careful reader at the window with a patient notebook.",
]
QUOTE = "the lantern at night"
NOTE = "Is the lantern the narrator's conscience?"
FIRST = "Memory, not conscience: the lantern keeps the past lit."  # B
SECOND = "Then why does the lantern go out in the last chapter?"  # A, answering B
THIRD = "Because the narrator finally stops remembering."  # B, answering A
REASON = "Personal remarks about another member"
Status = Annotation.Status


def open_note(page, live_server, document, annotation):
    """Read the document and open the note's panel by clicking its mark."""
    page.goto(f"{live_server.url}{document.get_absolute_url()}")
    page.locator(f'mark[data-annotation="{annotation.pk}"]').first.click()
    panel = page.locator("#panel")
    panel.locator(f"#note-{annotation.pk} .note-body", has_text=NOTE).wait_for()
    return panel


def reply_in_thread(panel, annotation, text: str):
    """Answer the note itself with the thread's own Reply form; returns the new reply's item."""
    form = panel.locator(f"form.reply-form:has(#reply-body-{annotation.pk}-top)")
    form.get_by_label("Reply to the thread").fill(text)
    form.get_by_role("button", name="Reply").click()
    return _posted(panel, text)


def reply_to(panel, parent: Reply, text: str):
    """Answer one reply: its "Reply" brings the editor under it; write, send."""
    card = panel.locator(f"#reply-{parent.pk} > article")
    card.locator(".note-actions").get_by_role("link", name="Reply", exact=True).click()
    slot = panel.locator(f"#reply-slot-{parent.pk}")
    slot.get_by_label("Your answer").fill(text)
    slot.get_by_role("button", name="Reply").click()
    return _posted(panel, text)


def _posted(panel, text: str):
    item = panel.locator("li.reply.is-new", has=panel.page.locator(".note-body", has_text=text))
    item.wait_for()
    return item


@pytest.mark.parametrize("flagged_reply", ["with answers", "a leaf"])
def test_flagged_reply_is_hidden_by_the_moderator_and_logged(
    live_server, browser, page, flagged_reply
):
    owner = UserFactory(username="owner")
    alice, bob, carol = (UserFactory(username=n) for n in ("alice", "bob", "carol"))
    mod = UserFactory(username="moira")
    group = group_services.group_create(owner=owner, name="Lantern readers")
    for member in (alice, bob, carol):
        MembershipFactory(group=group, user=member)
    MembershipFactory(group=group, user=mod, role=Membership.Role.MODERATOR)
    document = document_import(source="\n\n".join(TEXTS), fmt="markdown", title="Lanterns")
    note = make_annotation(
        author=alice,
        document=document,
        position=0,
        quote=QUOTE,
        body=NOTE,
        visibility=Annotation.Visibility.GROUP,
        group=group,
    )
    contexts = []

    def person(user):
        context, person_page = new_context_page(browser, live_server, user)
        contexts.append(context)
        return person_page

    try:
        # The thread, three levels deep, written through the panel -------------------------
        bob_page, alice_page = person(bob), person(alice)
        panel = open_note(bob_page, live_server, document, note)
        item = reply_in_thread(panel, note, FIRST)
        first = Reply.objects.get(body=FIRST)
        assert item.get_attribute("id") == f"reply-{first.pk}"
        assert "depth-0" in item.get_attribute("class")

        panel = open_note(alice_page, live_server, document, note)
        item = reply_to(panel, first, SECOND)
        second = Reply.objects.get(body=SECOND)
        assert second.parent_id == first.pk
        assert "depth-1" in item.get_attribute("class")

        panel = open_note(bob_page, live_server, document, note)
        item = reply_to(panel, second, THIRD)
        third = Reply.objects.get(body=THIRD)
        assert third.parent_id == second.pk
        assert "depth-2" in item.get_attribute("class")
        # Nested in the page as in the database: THIRD inside SECOND inside FIRST.
        nested = f"#reply-{first.pk} #reply-{second.pk} #reply-{third.pk} .note-body"
        assert panel.locator(nested).inner_text() == THIRD
        assert panel.locator(".thread-title").inner_text() == "Discussion (3 replies)"

        # Carol flags one of Bob's replies: the first (answered below) or the last (a leaf) --
        target = first if flagged_reply == "with answers" else third
        carol_page = person(carol)
        panel = open_note(carol_page, live_server, document, note)
        flagged = panel.locator(f"#reply-{target.pk} > article")
        flagged.locator(".note-actions").get_by_role("link", name="Flag", exact=True).click()
        panel.get_by_role("heading", name="Flag a reply").wait_for()
        panel.get_by_label("Abuse").check()
        panel.get_by_label("Comment").fill("Not about the book at all.")
        panel.get_by_role("button", name="Flag").click()
        page_status = carol_page.locator("#status")
        page_status.get_by_text("Thank you: the moderators will look at it.").wait_for()
        flag = Flag.objects.get()
        assert (flag.flagger, flag.reply, flag.annotation) == (carol, target, None)
        assert (flag.group, flag.reason, flag.resolved_at) == (group, Flag.Reason.ABUSE, None)

        # The moderator's queue: the flagged reply with its reason; hide it -----------------
        log_in(page, live_server, mod)  # the real login form, this time
        page.goto(f"{live_server.url}/groups/{group.slug}/moderation/")
        assert page.get_by_role("heading", name="Flagged").inner_text().startswith("Flagged (1,")
        queued = page.locator("li.queue-item")
        assert queued.count() == 1
        head = queued.locator("p.my-note-where").first.inner_text()
        assert re.search(r"^1 flag: abuse\b", head, re.IGNORECASE), head
        assert "Reply by bob" in queued.inner_text()
        assert queued.locator(".note-body").inner_text() == target.body
        assert "Not about the book at all." in queued.locator(".flag-comments").inner_text()
        queued.get_by_label("Reason (shown to the author)").fill(REASON)
        queued.get_by_role("button", name="Hide").click()
        page.wait_for_url(f"{live_server.url}/groups/{group.slug}/moderation/")
        page.locator(".messages").get_by_text("Hidden.").wait_for()
        assert page.locator("li.queue-item").count() == 0
        assert page.locator(".queue li.empty").inner_text().strip() == "Nothing is flagged."

        # Bob, its author, still sees it, marked, with the reason ----------------------------
        panel = open_note(bob_page, live_server, document, note)
        mine = panel.locator(f"#reply-{target.pk} > article")
        assert mine.locator(".note-body").inner_text() == target.body
        assert mine.locator(".moderation-note").inner_text() == f"Hidden by a moderator: {REASON}."
        # ...and nobody answers it any more (no Reply under it).
        assert mine.locator(".reply-button").count() == 0
        assert panel.locator(".thread-title").inner_text() == "Discussion (3 replies)"

        # Carol (who flagged it) and Alice (another member) no longer see its text. A
        # placeholder stands in only when answers hang below it -----------------------------
        for reader_page in (carol_page, alice_page):
            panel = open_note(reader_page, live_server, document, note)
            html = reader_page.content()
            assert target.body not in html
            assert REASON not in html
            assert panel.locator(".thread-title").inner_text() == "Discussion (2 replies)"
            removed = panel.locator(f"#reply-{target.pk}")
            if flagged_reply == "with answers":
                assert removed.locator("> p.placeholder").inner_text() == (
                    "[removed by a moderator]"
                )
                assert removed.locator("> article").count() == 0
                # The answers below it still read, in place.
                nested = removed.locator(f"#reply-{second.pk} > article .note-body")
                assert nested.inner_text() == SECOND
                nested = removed.locator(f"#reply-{third.pk} > article .note-body")
                assert nested.inner_text() == THIRD
            else:
                assert removed.count() == 0
                assert panel.locator("p.placeholder").count() == 0
                assert panel.locator(f"#reply-{second.pk} > article .note-body").inner_text() == (
                    SECOND
                )
                assert panel.locator(f"#reply-{first.pk} > article .note-body").inner_text() == (
                    FIRST
                )
            # Nor on the reply's own page.
            response = reader_page.goto(f"{live_server.url}/replies/{target.pk}/")
            assert response.status == 404
            assert target.body not in reader_page.content()

        # The log: who, what, why, before → after --------------------------------------------
        page.goto(f"{live_server.url}/groups/{group.slug}/moderation/log/")
        rows = page.locator("table.log tbody tr")
        assert rows.count() == 1
        cells = [c.strip() for c in rows.first.locator("td").all_inner_texts()]
        assert cells[1:] == ["moira", "Hid", "a reply by bob", REASON, "active → hidden"]
        assert rows.first.get_by_role("link", name="a reply").get_attribute("href") == (
            f"/annotations/{note.pk}/#reply-{target.pk}"
        )

        # And the database agrees ------------------------------------------------------------
        statuses = dict(Reply.objects.values_list("pk", "status"))
        expected = {first.pk: Status.ACTIVE, second.pk: Status.ACTIVE, third.pk: Status.ACTIVE}
        assert statuses == {**expected, target.pk: Status.HIDDEN}
        target.refresh_from_db()
        assert target.moderation_reason == REASON
        note.refresh_from_db()
        assert (note.status, note.locked) == (Status.ACTIVE, False)
        flag.refresh_from_db()
        assert flag.resolved_at is not None
        action = ModerationAction.objects.get()
        assert (action.moderator, action.group, action.act) == (mod, group, "hide")
        assert (action.annotation, action.reply, action.subject) == (note, target, bob)
        assert (action.reason, action.old_state, action.new_state) == (
            REASON,
            Status.ACTIVE,
            Status.HIDDEN,
        )
        told = Notification.objects.get(recipient=bob, kind=Notification.Kind.MODERATION)
        assert (told.actor, told.reply) == (mod, target)
        assert told.message == f"A moderator hid your contribution: {REASON}"
    finally:
        for context in contexts:
            context.close()
