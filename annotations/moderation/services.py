"""Moderators' acts. Each is atomic, asks the policy, and writes one row to the append-only
moderation log (who, what, on which item, why, old and new state, when). Nothing is destroyed:
hiding is a status; the author keeps seeing their content, marked, with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from annotations import policy
from annotations.errors import ModerationError
from annotations.live import events as live
from annotations.models import (
    Annotation,
    Ban,
    Flag,
    Group,
    Membership,
    ModerationAction,
    Notification,
    Reply,
)
from annotations.notifications import services as notifications

if TYPE_CHECKING:
    from django.contrib.auth.models import User

Act = ModerationAction.Act
Status = Annotation.Status


@dataclass
class Item:
    """Something a moderator acts on: a note (or highlight, or discussion) or a reply."""

    annotation: Annotation
    reply: Reply | None = None

    @property
    def content(self) -> Annotation | Reply:
        return self.reply or self.annotation

    @property
    def group(self) -> Group | None:
        return self.annotation.group if self.annotation.visibility == "group" else None


def item_find(*, annotation_id: int | None = None, reply_id: int | None = None) -> Item | None:
    if reply_id is not None:
        reply = (
            Reply.objects.select_related("annotation__group", "author").filter(pk=reply_id).first()
        )
        return Item(reply.annotation, reply) if reply else None
    annotation = (
        Annotation.objects.select_related("group", "author", "document")
        .filter(pk=annotation_id)
        .first()
    )
    return Item(annotation) if annotation else None


def _require(moderator: User, target: Item) -> None:
    if not policy.can_moderate(moderator, target.annotation):
        raise ModerationError(
            "Only this group's moderators (or site staff, for public notes) can do that.",
            status=403,
        )


def _log(
    moderator: User,
    act: str,
    target: Item | None = None,
    *,
    group=None,
    subject=None,
    reason: str = "",
    old: str = "",
    new: str = "",
) -> ModerationAction:
    return ModerationAction.objects.create(
        moderator=moderator,
        group=target.group if target else group,
        act=act,
        annotation=target.annotation if target else None,
        reply=target.reply if target else None,
        subject=subject or (target.content.author if target else None),
        reason=reason[:500],
        old_state=old,
        new_state=new,
    )


def _resolve_flags(target: Item) -> int:
    flags = Flag.objects.filter(resolved_at__isnull=True)
    flags = (
        flags.filter(reply=target.reply)
        if target.reply
        else flags.filter(annotation=target.annotation)
    )
    return flags.update(resolved_at=timezone.now())


def _tell_author(moderator: User, target: Item, message: str) -> None:
    notifications.notification_create(
        recipient=target.content.author,
        kind=Notification.Kind.MODERATION,
        actor=moderator,
        annotation=target.annotation,
        reply=target.reply,
        message=message,
    )


def _set_status(
    moderator: User, target: Item, act: str, new: str, reason: str, *, allowed_from
) -> Item:
    _require(moderator, target)
    content = type(target.content).objects.select_for_update(of=("self",)).get(pk=target.content.pk)
    old = content.status
    before = policy.audience_of(target.annotation, target.reply)
    if old not in allowed_from:
        raise ModerationError(f"It is {content.get_status_display().lower()}: nothing to do.")
    content.status = new
    content.moderation_reason = reason[:500] if new == Status.HIDDEN else ""
    content.save(update_fields=["status", "moderation_reason"])
    if target.reply:
        target.reply = content
    else:
        target.annotation = content
    _log(moderator, act, target, reason=reason, old=old, new=new)
    live.publish(
        change="reply" if target.reply else "updated",
        annotation=target.annotation,
        reply=target.reply,
        before=before,
    )
    return target


@transaction.atomic
def item_hide(*, moderator: User, target: Item, reason: str) -> Item:
    reason = reason.strip()
    if not reason:
        raise ModerationError("Say why it is hidden: the author will see the reason.")
    target = _set_status(
        moderator,
        target,
        Act.HIDE,
        Status.HIDDEN,
        reason,
        allowed_from=(Status.ACTIVE, Status.PENDING),
    )
    _resolve_flags(target)
    _tell_author(moderator, target, f"A moderator hid your contribution: {reason}")
    return target


@transaction.atomic
def item_unhide(*, moderator: User, target: Item, reason: str = "") -> Item:
    target = _set_status(
        moderator, target, Act.UNHIDE, Status.ACTIVE, reason, allowed_from=(Status.HIDDEN,)
    )
    _tell_author(moderator, target, "A moderator restored your contribution.")
    return target


@transaction.atomic
def item_approve(*, moderator: User, target: Item) -> Item:
    target = _set_status(
        moderator, target, Act.APPROVE, Status.ACTIVE, "", allowed_from=(Status.PENDING,)
    )
    _tell_author(moderator, target, "A moderator approved your contribution.")
    if target.reply is not None:
        # Now that others may see it, the thread hears of it as of any new reply.
        notifications.reply_notify(
            reply=target.reply, annotation=target.annotation, parent=target.reply.parent
        )
    return target


@transaction.atomic
def item_reject(*, moderator: User, target: Item, reason: str = "") -> Item:
    """A pending contribution not approved: it stays hidden, its author sees why."""
    reason = reason.strip() or "Not approved by a moderator."
    target = _set_status(
        moderator, target, Act.REJECT, Status.HIDDEN, reason, allowed_from=(Status.PENDING,)
    )
    _tell_author(moderator, target, f"A moderator did not approve your contribution: {reason}")
    return target


@transaction.atomic
def flags_dismiss(*, moderator: User, target: Item, reason: str = "") -> int:
    _require(moderator, target)
    count = _resolve_flags(target)
    if not count:
        raise ModerationError("There are no open flags on it.")
    _log(moderator, Act.DISMISS, target, reason=reason, old=f"{count} open flags", new="dismissed")
    return count


@transaction.atomic
def thread_set_locked(
    *, moderator: User, annotation_id: int, locked: bool, reason: str = ""
) -> Annotation:
    target = item_find(annotation_id=annotation_id)
    if target is None:
        raise ModerationError("No such note.")
    _require(moderator, target)
    annotation = Annotation.objects.select_for_update(of=("self",)).get(pk=annotation_id)
    if annotation.locked == locked:
        raise ModerationError("The thread is already " + ("locked." if locked else "open."))
    annotation.locked = locked
    annotation.save(update_fields=["locked", "updated_at"])
    live.publish(change="updated", annotation=annotation)
    target.annotation = annotation
    _log(
        moderator,
        Act.LOCK if locked else Act.UNLOCK,
        target,
        reason=reason,
        old="locked" if not locked else "open",
        new="locked" if locked else "open",
    )
    return annotation


def _member_target(moderator: User, group: Group, user_id: int) -> Membership:
    target = (
        Membership.objects.select_for_update(of=("self",))
        .select_related("user")
        .filter(group=group, user_id=user_id)
        .first()
    )
    if target is None:
        raise ModerationError("That person is not in this group.", status=403)
    if not policy.can_remove_member(policy.membership(moderator, group), target):
        raise ModerationError(
            "You cannot remove that person (the owner, or a fellow moderator).", status=403
        )
    return target


@transaction.atomic
def member_remove(*, moderator: User, group: Group, user_id: int, reason: str = "") -> None:
    target = _member_target(moderator, group, user_id)
    target.delete()
    live.publish_membership(user_id=user_id, group_id=group.pk)
    _log(
        moderator,
        Act.REMOVE_MEMBER,
        group=group,
        subject=target.user,
        reason=reason,
        old=target.role,
        new="removed",
    )


@transaction.atomic
def member_ban(*, moderator: User, group: Group, user_id: int, reason: str = "") -> Ban:
    target = _member_target(moderator, group, user_id)
    target.delete()
    live.publish_membership(user_id=user_id, group_id=group.pk)
    banned, _ = Ban.objects.get_or_create(
        group=group, user=target.user, defaults={"banned_by": moderator, "reason": reason[:500]}
    )
    _log(
        moderator,
        Act.BAN,
        group=group,
        subject=target.user,
        reason=reason,
        old=target.role,
        new="banned",
    )
    return banned


@transaction.atomic
def member_unban(*, moderator: User, group: Group, user_id: int) -> None:
    if not policy.moderates_group(moderator, group):
        raise ModerationError("Only this group's moderators can lift a ban.", status=403)
    deleted, _ = Ban.objects.filter(group=group, user_id=user_id).delete()
    if not deleted:
        raise ModerationError("That person is not banned.", status=403)
    ModerationAction.objects.create(
        moderator=moderator,
        group=group,
        act=Act.UNBAN,
        subject_id=user_id,
        old_state="banned",
        new_state="may rejoin",
    )


@transaction.atomic
def group_set_pre_moderation(*, moderator: User, group: Group, on: bool) -> Group:
    if not policy.can_set_pre_moderation(moderator, group):
        raise ModerationError("Only this group's moderators can change pre-moderation.", status=403)
    group = Group.objects.select_for_update(of=("self",)).get(pk=group.pk)
    if group.pre_moderation == on:
        return group
    group.pre_moderation = on
    group.save(update_fields=["pre_moderation"])
    _log(
        moderator,
        Act.PRE_MODERATION,
        group=group,
        old="on" if not on else "off",
        new="on" if on else "off",
    )
    return group
