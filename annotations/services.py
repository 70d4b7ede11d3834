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

from annotations import policy
from annotations.anchoring import AnchorError, ParagraphText, Target, anchor
from annotations.models import Annotation, Group, Membership
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
    if hi - lo > settings.ANNOTATION_MAX_PARAGRAPHS:
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
    annotation = Annotation(
        document=document,
        revision_id=document.current_revision_id,
        author=author,
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
    )
    annotation.full_clean()
    annotation.save()
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
    annotation = Annotation.objects.select_for_update().get(pk=annotation_id)
    if not policy.can_edit_annotation(editor, annotation):
        raise AnnotationError("Only its author can edit this note.")
    if annotation.version != version:
        raise EditConflict(
            "This note was changed elsewhere since you opened it. Your text is still in the "
            "editor: copy it, reload, and apply your change again."
        )
    annotation.body = _check_body(body)
    annotation.body_html = render_markdown(annotation.body) if annotation.body else ""
    annotation.tags = parse_tags(tags)
    annotation.colour = _check_colour(colour)
    annotation.group = _check_audience(editor, visibility, group)
    annotation.visibility = visibility
    annotation.version += 1
    annotation.full_clean()
    annotation.save()
    return annotation


@transaction.atomic
def annotation_delete(*, annotation_id: int, by) -> Annotation:
    annotation = Annotation.objects.select_for_update().get(pk=annotation_id)
    if not policy.can_delete_annotation(by, annotation):
        raise AnnotationError("Only its author can delete this note.")
    annotation.status = Annotation.Status.DELETED
    annotation.version += 1
    annotation.save(update_fields=["status", "version", "updated_at"])
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
    try:
        with transaction.atomic():
            membership, _ = Membership.objects.get_or_create(
                group=group, user=user, defaults={"role": Role.MEMBER}
            )
    except IntegrityError:  # joined twice at the same moment: the first one stands
        membership = Membership.objects.get(group=group, user=user)
    return membership


@transaction.atomic
def group_leave(*, user, group: Group) -> None:
    member = Membership.objects.select_for_update().filter(user=user, group=group).first()
    if not policy.can_leave_group(member):
        raise GroupError(
            "The owner cannot leave their group." if member else "You are not in this group."
        )
    member.delete()


@transaction.atomic
def membership_set_role(*, actor, group: Group, user_id: int, role: str) -> Membership:
    if role not in (Role.MODERATOR, Role.MEMBER):
        raise GroupError("A member can be made a moderator or a member.")
    target = Membership.objects.select_for_update().filter(group=group, user_id=user_id).first()
    if target is None:
        raise GroupError("That person is not in this group.")
    if not policy.can_change_role(policy.membership(actor, group), target):
        raise GroupError("Only the owner can change roles, and the owner's own role stays.")
    target.role = role
    target.save(update_fields=["role"])
    return target


@transaction.atomic
def membership_remove(*, actor, group: Group, user_id: int) -> None:
    target = Membership.objects.select_for_update().filter(group=group, user_id=user_id).first()
    if target is None:
        raise GroupError("That person is not in this group.")
    if not policy.can_remove_member(policy.membership(actor, group), target):
        raise GroupError("Only the owner can remove members, and the owner cannot be removed.")
    target.delete()
