"""Writes on the annotation side. Each is atomic and validated; a refused write stores nothing.

Views ask annotations.policy whether an act is allowed before calling these; the services
check again what they rely on (a group note's author is in the group), so no caller can store
something the policy would not allow.
"""

from __future__ import annotations

import re
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from annotations import live, notifications, policy, ratelimit
from annotations.anchoring import AnchorError, ParagraphText, Target, anchor
from annotations.models import (
    Annotation,
    Flag,
    Group,
    Membership,
    Notification,
    Reaction,
    Reply,
)
from annotations.rendering import render_markdown
from reader.models import Document, Paragraph

Visibility = Annotation.Visibility
Role = Membership.Role

MAX_TAGS = 10
MAX_TAG_LENGTH = 50


class AnnotationError(ValueError):
    """A write refused for its input; str(exc) is the message for the reader."""


class EditConflict(AnnotationError):
    """The annotation changed since the editor loaded it."""


class GroupError(ValueError):
    """A group act refused; str(exc) is the message for the reader."""


# Annotations ---------------------------------------------------------------------------------


def parse_tags(raw: str | list[str]) -> list[str]:
    """'Metaphor, key idea ,metaphor' -> ['metaphor', 'key-idea']: lower case, no repeats."""
    items = raw.split(",") if isinstance(raw, str) else raw
    tags: list[str] = []
    for item in items:
        tag = re.sub(r"\s+", "-", item.strip().lower().lstrip("#"))
        if not tag:
            continue
        if len(tag) > MAX_TAG_LENGTH:
            raise AnnotationError(f"A tag can have at most {MAX_TAG_LENGTH} characters.")
        if not re.fullmatch(r"[\w\-.:]+", tag):
            raise AnnotationError(
                f"The tag {tag!r} has characters tags cannot have: use letters, digits and '-'."
            )
        if tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise AnnotationError(f"A note can have at most {MAX_TAGS} tags.")
    return tags


def _check_body(body: str) -> str:
    limit = settings.ANNOTATION_BODY_MAX_CHARS
    if len(body) > limit:
        raise AnnotationError(f"The note is {len(body):,} characters long; the limit is {limit:,}.")
    return body.strip()


def _check_colour(colour: str) -> str:
    if colour not in Annotation.Colour.values:
        names = ", ".join(Annotation.Colour.values)
        raise AnnotationError(f"Unknown colour {colour!r}: choose one of {names}.")
    return colour


def _check_audience(author, visibility: str, group: Group | None) -> Group | None:
    if visibility not in Visibility.values:
        raise AnnotationError(
            f"Unknown visibility {visibility!r}: choose only me, a group, or public."
        )
    if visibility != Visibility.GROUP:
        return None
    if group is None:
        raise AnnotationError("Choose the group that may see this note.")
    if not policy.can_post_to_group(author, group):
        raise AnnotationError("You can only share notes with a group you belong to.")
    return group


def _paragraph_texts(revision_id: int, keys: set[str]) -> tuple[dict[str, ParagraphText], list]:
    """The texts an anchor needs: the paragraphs from the start key to the end key."""
    positions = dict(
        Paragraph.objects.filter(revision_id=revision_id, key__in=keys).values_list(
            "key", "position"
        )
    )
    if len(positions) < len(keys):
        raise AnnotationError("The selection points at a paragraph that is not in this document.")
    lo, hi = min(positions.values()), max(positions.values())
    if hi - lo + 1 > settings.ANNOTATION_MAX_PARAGRAPHS:
        raise AnnotationError(
            f"A selection can span at most {settings.ANNOTATION_MAX_PARAGRAPHS} paragraphs."
        )
    rows = Paragraph.objects.filter(
        revision_id=revision_id, position__gte=lo, position__lte=hi
    ).values_list("key", "position", "text")
    texts = {key: ParagraphText(position, text) for key, position, text in rows}
    order = {text.position: key for key, text in texts.items()}
    # anchor() walks positions lo..hi; give it a list indexed by position.
    by_position: list = [None] * (hi + 1)
    for position, key in order.items():
        by_position[position] = key
    return texts, by_position


@transaction.atomic
def annotation_create(
    *,
    author,
    document: Document,
    target: Target,
    colour: str = Annotation.Colour.YELLOW,
    body: str = "",
    tags: str | list[str] = "",
    visibility: str = Visibility.PRIVATE,
    group: Group | None = None,
) -> Annotation:
    if not policy.can_annotate(author):
        raise AnnotationError("Log in to annotate.")
    if document.current_revision_id is None:
        raise AnnotationError("This document has no text to annotate yet.")
    body = _check_body(body)
    colour = _check_colour(colour)
    tag_list = parse_tags(tags)
    group = _check_audience(author, visibility, group)
    texts, order = _paragraph_texts(
        document.current_revision_id, {target.start_key, target.end_key}
    )
    try:
        anchored = anchor(target, texts, order)
    except AnchorError as error:
        raise AnnotationError(str(error)) from error
    ratelimit.hit(author, "post")
    annotation = Annotation(
        document=document,
        revision_id=document.current_revision_id,
        author=author,
        language=document.language,
        start_key=anchored.start_key,
        start_offset=anchored.start_offset,
        start_position=anchored.start_position,
        end_key=anchored.end_key,
        end_offset=anchored.end_offset,
        end_position=anchored.end_position,
        exact=anchored.exact,
        prefix=anchored.prefix,
        suffix=anchored.suffix,
        colour=colour,
        body=body,
        body_html=render_markdown(body) if body else "",
        tags=tag_list,
        visibility=visibility,
        group=group,
        status=_initial_status(author, group),
    )
    annotation.full_clean()
    annotation.save()
    live.publish(change="created", annotation=annotation)
    if body:
        notifications.notify_mentions(body=body, actor=author, annotation=annotation, reply=None)
    return annotation


@transaction.atomic
def annotation_update(
    *,
    annotation_id: int,
    editor,
    version: int,
    body: str,
    tags: str | list[str],
    colour: str,
    visibility: str,
    group: Group | None,
) -> Annotation:
    """Edit a note. `version` is the one the editor started from: if the note has changed since,
    nothing is stored and EditConflict says so."""
    annotation = Annotation.objects.select_for_update(of=("self",)).get(pk=annotation_id)
    if not policy.can_edit_annotation(editor, annotation):
        raise AnnotationError("Only its author can edit this note.")
    if annotation.version != version:
        raise EditConflict(
            "This note was changed elsewhere since you opened it. Your text is still in the "
            "editor: copy it, reload, and apply your change again."
        )
    before = policy.audience_of(annotation)
    annotation.body = _check_body(body)
    annotation.body_html = render_markdown(annotation.body) if annotation.body else ""
    annotation.tags = parse_tags(tags)
    annotation.colour = _check_colour(colour)
    annotation.group = _check_audience(editor, visibility, group)
    annotation.visibility = visibility
    annotation.version += 1
    annotation.full_clean()
    annotation.save()
    live.publish(change="updated", annotation=annotation, before=before)
    return annotation


@transaction.atomic
def annotation_delete(*, annotation_id: int, by) -> Annotation:
    annotation = Annotation.objects.select_for_update(of=("self",)).get(pk=annotation_id)
    if not policy.can_delete_annotation(by, annotation):
        raise AnnotationError("Only its author can delete this note.")
    before = policy.audience_of(annotation)
    annotation.status = Annotation.Status.DELETED
    annotation.version += 1
    annotation.save(update_fields=["status", "version", "updated_at"])
    live.publish(change="deleted", annotation=annotation, before=before)
    return annotation


# Groups --------------------------------------------------------------------------------------


@transaction.atomic
def group_create(*, owner, name: str, description: str = "") -> Group:
    name = name.strip()
    if not name:
        raise GroupError("Give the group a name.")
    base = slugify(name)[:60].strip("-") or "group"
    slug, number = base, 1
    while Group.objects.filter(slug=slug).exists():
        number += 1
        slug = f"{base}-{number}"
    group = Group(name=name, slug=slug, description=description.strip(), created_by=owner)
    group.full_clean()
    group.save()
    Membership.objects.create(group=group, user=owner, role=Role.OWNER)
    return group


@transaction.atomic
def group_renew_invite(*, group: Group, by, expires_in_days: int | None) -> Group:
    if not policy.can_manage_members(by, group):
        raise GroupError("Only the group's owner can renew its invite link.")
    if expires_in_days is not None and not 1 <= expires_in_days <= 365:
        raise GroupError("An invite link can last from 1 to 365 days.")
    group.invite_token = Group._meta.get_field("invite_token").default()
    group.invite_expires_at = (
        timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None
    )
    group.save(update_fields=["invite_token", "invite_expires_at"])
    return group


def invite_is_valid(group: Group) -> bool:
    return group.invite_expires_at is None or group.invite_expires_at > timezone.now()


@transaction.atomic
def group_join(*, user, token: str) -> Membership:
    group = Group.objects.filter(invite_token=token).first()
    if group is None or not invite_is_valid(group):
        raise GroupError("This invite link is not valid any more. Ask the group for a new one.")
    if policy.is_banned(user, group):
        raise GroupError("You have been banned from this group and cannot rejoin it.")
    try:
        with transaction.atomic():
            membership, _ = Membership.objects.get_or_create(
                group=group, user=user, defaults={"role": Role.MEMBER}
            )
    except IntegrityError:  # joined twice at the same moment: the first one stands
        membership = Membership.objects.get(group=group, user=user)
    live.publish_membership(user_id=user.pk, group_id=group.pk)
    return membership


@transaction.atomic
def group_leave(*, user, group: Group) -> None:
    member = (
        Membership.objects.select_for_update(of=("self",)).filter(user=user, group=group).first()
    )
    if not policy.can_leave_group(member):
        raise GroupError(
            "The owner cannot leave their group." if member else "You are not in this group."
        )
    member.delete()
    live.publish_membership(user_id=user.pk, group_id=group.pk)


@transaction.atomic
def membership_set_role(*, actor, group: Group, user_id: int, role: str) -> Membership:
    if role not in (Role.MODERATOR, Role.MEMBER):
        raise GroupError("A member can be made a moderator or a member.")
    target = (
        Membership.objects.select_for_update(of=("self",))
        .filter(group=group, user_id=user_id)
        .first()
    )
    if target is None:
        raise GroupError("That person is not in this group.")
    if not policy.can_change_role(policy.membership(actor, group), target):
        raise GroupError("Only the owner can change roles, and the owner's own role stays.")
    target.role = role
    target.save(update_fields=["role"])
    live.publish_membership(user_id=target.user_id, group_id=group.pk)
    return target


# Discussions -------------------------------------------------------------------------------


class ThreadClosed(AnnotationError):
    """A reply to a locked, hidden or deleted thread."""


def _check_reply_body(body: str) -> str:
    body = _check_body(body)
    if not body:
        raise AnnotationError("Write something before posting.")
    return body


def _initial_status(author, annotation_group: Group | None) -> str:
    if policy.needs_approval(author, annotation_group):
        return Annotation.Status.PENDING
    return Annotation.Status.ACTIVE


@transaction.atomic
def discussion_create(
    *,
    author,
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
    group = _check_audience(author, visibility, group)
    kind, key, position = Annotation.Kind.DOCUMENT, "", 0
    if paragraph_key is not None:
        paragraph = Paragraph.objects.filter(
            revision_id=document.current_revision_id, key=paragraph_key
        ).values_list("position", flat=True)
        if not paragraph:
            raise AnnotationError("That paragraph is not in this document.")
        kind, key, position = Annotation.Kind.PARAGRAPH, paragraph_key, paragraph[0]
    ratelimit.hit(author, "post")
    annotation = Annotation(
        document=document,
        revision_id=document.current_revision_id,
        author=author,
        language=document.language,
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
        status=_initial_status(author, group),
    )
    annotation.full_clean()
    annotation.save()
    live.publish(change="created", annotation=annotation)
    notifications.notify_mentions(body=body, actor=author, annotation=annotation, reply=None)
    return annotation


@transaction.atomic
def reply_create(*, author, annotation_id: int, body: str, parent_id: int | None = None) -> Reply:
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
    reply = Reply(
        annotation=annotation,
        parent=parent,
        author=author,
        body=body,
        body_html=render_markdown(body),
        status=_initial_status(author, annotation.group),
        language=annotation.language,
    )
    reply.full_clean()
    reply.save()
    live.publish(change="reply", annotation=annotation, reply=reply)
    if reply.status == Annotation.Status.ACTIVE:
        notifications.notify_reply(reply, annotation, parent)
    return reply


@transaction.atomic
def reply_update(*, reply_id: int, editor, version: int, body: str) -> Reply:
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
def reply_delete(*, reply_id: int, by) -> Reply:
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
def reaction_toggle(*, user, annotation_id: int, kind: str) -> bool:
    """Add the reaction, or take it back if it was there. Returns whether it is now on. The
    unique constraint, not this check, is what stops a double count under concurrency."""
    if kind not in Reaction.Kind.values:
        raise AnnotationError("Unknown reaction.")
    annotation = Annotation.objects.filter(pk=annotation_id).first()
    if annotation is None or not policy.can_view_annotation(user, annotation):
        raise AnnotationError("That note does not exist.")
    if not policy.can_react(user, annotation):
        raise AnnotationError("You cannot react to this note.")
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
def question_set(*, annotation_id: int, by, is_question: bool) -> Annotation:
    annotation = Annotation.objects.select_for_update(of=("self",)).get(pk=annotation_id)
    if not policy.can_mark_question(by, annotation):
        raise AnnotationError("Only its author can mark a note as a question.")
    annotation.is_question = is_question
    if not is_question:
        annotation.answer = None
    annotation.save(update_fields=["is_question", "answer", "updated_at"])
    return annotation


@transaction.atomic
def answer_mark(*, annotation_id: int, reply_id: int | None, by) -> Annotation:
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
        notifications.notify(
            recipient=reply.author,
            kind=Notification.Kind.ANSWER,
            actor=by,
            annotation=annotation,
            reply=reply,
            message=f"Your reply was chosen as the answer to a question on “{title}”.",
        )
        if by.pk != annotation.author_id:
            notifications.notify(
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
    flagger,
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
