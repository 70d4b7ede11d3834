"""Writes on study groups: create, invite, join, leave, roles. Each is atomic and validated."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from annotations import policy
from annotations.errors import GroupError
from annotations.live import events as live
from annotations.models import (
    Group,
    Membership,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User

Role = Membership.Role


@transaction.atomic
def group_create(*, owner: User, name: str, description: str = "") -> Group:
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
def group_renew_invite(*, group: Group, by: User, expires_in_days: int | None) -> Group:
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
def group_join(*, user: User, token: str) -> Membership:
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
def group_leave(*, user: User, group: Group) -> None:
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
def membership_set_role(*, actor: User, group: Group, user_id: int, role: str) -> Membership:
    if role not in (Role.MODERATOR, Role.MEMBER):
        raise GroupError("A member can be made a moderator or a member.", status=403)
    target = (
        Membership.objects.select_for_update(of=("self",))
        .filter(group=group, user_id=user_id)
        .first()
    )
    if target is None:
        raise GroupError("That person is not in this group.", status=403)
    if not policy.can_change_role(policy.membership(actor, group), target):
        raise GroupError(
            "Only the owner can change roles, and the owner's own role stays.", status=403
        )
    target.role = role
    target.save(update_fields=["role"])
    live.publish_membership(user_id=target.user_id, group_id=group.pk)
    return target
