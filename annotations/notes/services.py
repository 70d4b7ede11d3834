"""Writes on highlights and notes: create, edit, delete, and the checks the other writers share
(a body, tags, an audience). Each is atomic and validated; a refused write stores nothing.

Views ask annotations.policy whether an act is allowed before calling these; the services
check again what they rely on (a group note's author is in the group), so no caller can store
something the policy would not allow.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction

from annotations import policy, ratelimit
from annotations.anchoring import AnchorError, ParagraphText, Target, anchor
from annotations.errors import AnnotationError, EditConflict
from annotations.live import events as live
from annotations.models import (
    Annotation,
    Group,
    Membership,
)
from annotations.notifications import services as notifications
from annotations.rendering import render_markdown
from reader.models import Document, Paragraph

if TYPE_CHECKING:
    from django.contrib.auth.models import User

Visibility = Annotation.Visibility
Role = Membership.Role
MAX_TAGS = 10
MAX_TAG_LENGTH = 50


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


def check_body(body: str) -> str:
    limit = settings.ANNOTATION_BODY_MAX_CHARS
    if len(body) > limit:
        raise AnnotationError(f"The note is {len(body):,} characters long; the limit is {limit:,}.")
    return body.strip()


def check_colour(colour: str) -> str:
    if colour not in Annotation.Colour.values:
        names = ", ".join(Annotation.Colour.values)
        raise AnnotationError(f"Unknown colour {colour!r}: choose one of {names}.")
    return colour


def check_audience(author: User, visibility: str, group: Group | None) -> Group | None:
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


def paragraph_texts(revision_id: int, keys: set[str]) -> tuple[dict[str, ParagraphText], list]:
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


def initial_status(author: User, annotation_group: Group | None) -> str:
    """Active, or waiting for a moderator in a pre-moderated group."""
    if policy.needs_approval(author, annotation_group):
        return Annotation.Status.PENDING
    return Annotation.Status.ACTIVE


def new_annotation(*, document: Document, author: User, **fields) -> Annotation:
    """An unsaved annotation by `author` on `document`'s current revision, in its language."""
    return Annotation(
        document=document,
        revision_id=document.current_revision_id,
        author=author,
        language=document.language,
        **fields,
    )


@transaction.atomic
def annotation_create(
    *,
    author: User,
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
    body = check_body(body)
    colour = check_colour(colour)
    tag_list = parse_tags(tags)
    group = check_audience(author, visibility, group)
    texts, order = paragraph_texts(document.current_revision_id, {target.start_key, target.end_key})
    try:
        anchored = anchor(target, texts, order)
    except AnchorError as error:
        raise AnnotationError(str(error)) from error
    ratelimit.hit(author, "post")
    annotation = new_annotation(
        document=document,
        author=author,
        **anchored.fields(),
        colour=colour,
        body=body,
        body_html=render_markdown(body) if body else "",
        tags=tag_list,
        visibility=visibility,
        group=group,
        status=initial_status(author, group),
    )
    annotation.full_clean()
    annotation.save()
    live.publish(change="created", annotation=annotation)
    if body:
        notifications.mentions_notify(body=body, actor=author, annotation=annotation, reply=None)
    return annotation


@transaction.atomic
def annotation_update(
    *,
    annotation_id: int,
    editor: User,
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
    annotation.body = check_body(body)
    annotation.body_html = render_markdown(annotation.body) if annotation.body else ""
    annotation.tags = parse_tags(tags)
    annotation.colour = check_colour(colour)
    annotation.group = check_audience(editor, visibility, group)
    annotation.visibility = visibility
    annotation.version += 1
    annotation.full_clean()
    annotation.save()
    live.publish(change="updated", annotation=annotation, before=before)
    return annotation


@transaction.atomic
def annotation_delete(*, annotation_id: int, by: User) -> Annotation:
    annotation = Annotation.objects.select_for_update(of=("self",)).get(pk=annotation_id)
    if not policy.can_delete_annotation(by, annotation):
        raise AnnotationError("Only its author can delete this note.")
    before = policy.audience_of(annotation)
    annotation.status = Annotation.Status.DELETED
    annotation.version += 1
    annotation.save(update_fields=["status", "version", "updated_at"])
    live.publish(change="deleted", annotation=annotation, before=before)
    return annotation
