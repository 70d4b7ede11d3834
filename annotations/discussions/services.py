"""Writes on discussions: replies, reactions, questions and answers, flags. Each is atomic and
validated; a refused write stores nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from annotations import policy, ratelimit
from annotations.errors import AnnotationError, EditConflict, ThreadClosed
from annotations.live import events as live
from annotations.models import (
    Annotation,
    Flag,
    Group,
    Notification,
    Reaction,
    Reply,
)
from annotations.notes.services import (
    check_audience,
    check_body,
    initial_status,
    new_annotation,
    parse_tags,
)
from annotations.notifications import services as notifications
from annotations.rendering import render_markdown
from reader.models import Document, Paragraph

if TYPE_CHECKING:
    from django.contrib.auth.models import User

Visibility = Annotation.Visibility


def _check_reply_body(body: str) -> str:
    body = check_body(body)
    if not body:
        raise AnnotationError("Write something before posting.")
    return body


@transaction.atomic
def discussion_create(
    *,
    author: User,
    document: Document,
    paragraph_key: str | None,
    body: str,
    tags: str | list[str] = "",
    visibility: str = Visibility.PRIVATE,
    group: Group | None = None,
    is_question: bool = False,
) -> Annotation:
    """Open a discussion on a whole paragraph (a key) or the whole document (None), without
    quoting words."""
    if not policy.can_annotate(author):
        raise AnnotationError("Log in to start a discussion.")
    if document.current_revision_id is None:
        raise AnnotationError("This document has no text to discuss yet.")
    body = _check_reply_body(body)
    tag_list = parse_tags(tags)
    group = check_audience(author, visibility, group)
    kind, key, position = Annotation.Kind.DOCUMENT, "", 0
    if paragraph_key is not None:
        paragraph = Paragraph.objects.filter(
            revision_id=document.current_revision_id, key=paragraph_key
        ).values_list("position", flat=True)
        if not paragraph:
            raise AnnotationError("That paragraph is not in this document.")
        kind, key, position = Annotation.Kind.PARAGRAPH, paragraph_key, paragraph[0]
    ratelimit.hit(author, "post")
    annotation = new_annotation(
        document=document,
        author=author,
        kind=kind,
        start_key=key,
        start_offset=0,
        start_position=position,
        end_key=key,
        end_offset=0,
        end_position=position,
        exact="",
        body=body,
        body_html=render_markdown(body),
        tags=tag_list,
        visibility=visibility,
        group=group,
        is_question=is_question,
        status=initial_status(author, group),
    )
    annotation.full_clean()
    annotation.save()
    live.publish(change="created", annotation=annotation)
    notifications.mentions_notify(body=body, actor=author, annotation=annotation, reply=None)
    return annotation


def _nesting_parent(annotation_id: int, parent: Reply | None) -> Reply | None:
    """Where a reply answering `parent` is stored: under `parent` unless that would nest it
    deeper than settings.REPLY_MAX_DEPTH (a reply to the note is at depth 1), else under the
    ancestor of `parent` at the maximum depth minus one (None: the note itself). One query for
    the thread's shape, walked up with a loop, never recursion."""
    if parent is None:
        return None
    deepest = max(settings.REPLY_MAX_DEPTH, 1)
    parents = dict(Reply.objects.filter(annotation_id=annotation_id).values_list("id", "parent_id"))
    path = [parent.pk]  # parent, its parent, ... up to the reply on the note
    seen = {parent.pk}
    while (up := parents.get(path[-1])) is not None and up not in seen:
        seen.add(up)
        path.append(up)
    if len(path) < deepest:
        return parent
    if deepest == 1:
        return None
    # path[-1] is at depth 1, so path[-(deepest - 1)] is at depth deepest - 1.
    return Reply.objects.get(pk=path[-(deepest - 1)])


@transaction.atomic
def reply_create(
    *, author: User, annotation_id: int, body: str, parent_id: int | None = None
) -> Reply:
    annotation = (
        Annotation.objects.select_for_update(of=("self",))
        .select_related("group", "document", "author")
        .filter(pk=annotation_id)
        .first()
    )
    if annotation is None or not policy.can_view_annotation(author, annotation):
        raise AnnotationError("That note does not exist.")
    if annotation.locked:
        raise ThreadClosed("This thread is locked: no new replies.")
    if annotation.status != Annotation.Status.ACTIVE:
        raise ThreadClosed("This note is not open for replies.")
    if not policy.can_reply(author, annotation):
        raise AnnotationError("You cannot reply here.")
    body = _check_reply_body(body)
    parent = None
    if parent_id is not None:
        parent = Reply.objects.filter(pk=parent_id, annotation=annotation).first()
        if parent is None or not policy.can_view_reply(author, parent, annotation):
            raise AnnotationError("The reply you answered is not in this thread.")
        if parent.status in (Annotation.Status.HIDDEN, Annotation.Status.DELETED):
            raise ThreadClosed("That reply was removed: answer the thread instead.")
    ratelimit.hit(author, "post")
    # Threads nest no deeper than REPLY_MAX_DEPTH: under a reply already at the maximum depth
    # (or deeper, stored before the cap), the new reply goes beside it, at the maximum depth.
    # The note row's lock above keeps the thread's shape still while this is decided.
    home = _nesting_parent(annotation.pk, parent)
    reply = Reply(
        annotation=annotation,
        parent=home,
        author=author,
        body=body,
        body_html=render_markdown(body),
        status=initial_status(author, annotation.group),
        language=annotation.language,
    )
    reply.full_clean()
    reply.save()
    live.publish(change="reply", annotation=annotation, reply=reply)
    if reply.status == Annotation.Status.ACTIVE:
        notifications.reply_notify(reply=reply, annotation=annotation, parent=parent)
    return reply


@transaction.atomic
def reply_update(*, reply_id: int, editor: User, version: int, body: str) -> Reply:
    reply = Reply.objects.select_for_update(of=("self",)).filter(pk=reply_id).first()
    if reply is None or not policy.can_edit_reply(editor, reply):
        raise AnnotationError("Only its author can edit this reply.")
    if reply.version != version:
        raise EditConflict("This reply was changed elsewhere since you opened it.")
    reply.body = _check_reply_body(body)
    reply.body_html = render_markdown(reply.body)
    reply.version += 1
    reply.edited_at = timezone.now()
    reply.full_clean()
    reply.save()
    live.publish(change="reply", annotation=reply.annotation, reply=reply)
    return reply


@transaction.atomic
def reply_delete(*, reply_id: int, by: User) -> Reply:
    """The author deletes a reply. One with answers stays as a "[deleted]" placeholder so the
    thread still reads; its text is gone either way."""
    reply = Reply.objects.select_for_update(of=("self",)).filter(pk=reply_id).first()
    if reply is None or not policy.can_delete_reply(by, reply):
        raise AnnotationError("Only its author can delete this reply.")
    before = policy.audience_of(reply.annotation, reply)
    reply.status = Annotation.Status.DELETED
    reply.version += 1
    reply.save(update_fields=["status", "version"])
    # A deleted reply is no longer anybody's answer.
    Annotation.objects.filter(pk=reply.annotation_id, answer=reply).update(answer=None)
    live.publish(change="reply", annotation=reply.annotation, reply=reply, before=before)
    return reply


@transaction.atomic
def reaction_toggle(*, user: User, annotation_id: int, kind: str) -> bool:
    """Add the reaction, or take it back if it was there. Returns whether it is now on. The
    unique constraint, not this check, is what stops a double count under concurrency."""
    if kind not in Reaction.Kind.values:
        raise AnnotationError("Unknown reaction.")
    annotation = Annotation.objects.filter(pk=annotation_id).first()
    if annotation is None or not policy.can_view_annotation(user, annotation):
        raise AnnotationError("That note does not exist.")
    if not policy.can_react(user, annotation):
        raise AnnotationError("You cannot react to this note.", status=403)
    if kind == Reaction.Kind.SAME_QUESTION and not annotation.is_question:
        raise AnnotationError("Only a question can be asked again.")
    deleted, _ = Reaction.objects.filter(annotation=annotation, user=user, kind=kind).delete()
    if deleted:
        return False
    try:
        with transaction.atomic():
            Reaction.objects.create(annotation=annotation, user=user, kind=kind)
    except IntegrityError:
        pass  # pressed twice at once: the first press counts, once
    return True


@transaction.atomic
def question_set(*, annotation_id: int, by: User, is_question: bool) -> Annotation:
    annotation = Annotation.objects.select_for_update(of=("self",)).get(pk=annotation_id)
    if not policy.can_mark_question(by, annotation):
        raise AnnotationError("Only its author can mark a note as a question.")
    annotation.is_question = is_question
    if not is_question:
        annotation.answer = None
    annotation.save(update_fields=["is_question", "answer", "updated_at"])
    return annotation


@transaction.atomic
def answer_mark(*, annotation_id: int, reply_id: int | None, by: User) -> Annotation:
    """The asker or a moderator marks one reply as the answer (None: no answer)."""
    annotation = (
        Annotation.objects.select_for_update(of=("self",))
        .select_related("group", "document")
        .get(pk=annotation_id)
    )
    if not policy.can_mark_answer(by, annotation):
        raise AnnotationError("Only the asker or a moderator can choose the answer.")
    reply = None
    if reply_id is not None:
        reply = (
            Reply.objects.filter(
                pk=reply_id, annotation=annotation, status=Annotation.Status.ACTIVE
            )
            .select_related("author")
            .first()
        )
        if reply is None:
            raise AnnotationError("That reply is not in this thread.")
    annotation.answer = reply
    annotation.save(update_fields=["answer", "updated_at"])
    if reply is not None:
        title = annotation.document.title
        notifications.notification_create(
            recipient=reply.author,
            kind=Notification.Kind.ANSWER,
            actor=by,
            annotation=annotation,
            reply=reply,
            message=f"Your reply was chosen as the answer to a question on “{title}”.",
        )
        if by.pk != annotation.author_id:
            notifications.notification_create(
                recipient=annotation.author,
                kind=Notification.Kind.ANSWER,
                actor=by,
                annotation=annotation,
                reply=reply,
                message=f"Your question on “{title}” has an answer.",
            )
    return annotation


@transaction.atomic
def flag_create(
    *,
    flagger: User,
    annotation_id: int | None = None,
    reply_id: int | None = None,
    reason: str,
    comment: str = "",
) -> Flag:
    if reason not in Flag.Reason.values:
        raise AnnotationError("Choose why you flag it: spam, abuse, off-topic or other.")
    if len(comment) > 1000:
        raise AnnotationError("The comment can have at most 1,000 characters.")
    reply = None
    if reply_id is not None:
        reply = Reply.objects.select_related("annotation").filter(pk=reply_id).first()
        annotation = reply.annotation if reply else None
        if reply is None or not policy.can_view_reply(flagger, reply, annotation):
            raise AnnotationError("That reply does not exist.")
    else:
        annotation = Annotation.objects.filter(pk=annotation_id).first()
        if annotation is None or not policy.can_view_annotation(flagger, annotation):
            raise AnnotationError("That note does not exist.")
    if (reply or annotation).author_id == flagger.pk:
        raise AnnotationError("You cannot flag what you wrote: edit or delete it instead.")
    if not policy.can_flag(flagger, annotation, reply):
        raise AnnotationError("You cannot flag this.")
    ratelimit.hit(flagger, "flag")
    try:
        with transaction.atomic():
            return Flag.objects.create(
                flagger=flagger,
                annotation=None if reply else annotation,
                reply=reply,
                group=annotation.group if annotation.visibility == Visibility.GROUP else None,
                reason=reason,
                comment=comment.strip(),
            )
    except IntegrityError as error:
        raise AnnotationError("You have already flagged this.") from error
