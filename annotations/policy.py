"""Who may see and do what. The only place that decides it.

Every page, fragment, count and list asks this module; nothing filters visibility on its own.
Each permission is a small pure predicate over (user, object); `visible_annotations` is the
same rule for the database, applied through `Annotation.objects.visible_to(user)`.

The rules:
- private: the author only;
- group: current members of the group;
- public: anyone who may read the document (every document is readable);
- deleted: nobody; hidden: its author only (moderators arrive with moderation);
- what a viewer may not see answers 404, never 403: its existence is not confirmed.
"""

from __future__ import annotations

from django.db.models import Q, Subquery

from annotations.models import Annotation, Group, Membership

Visibility = Annotation.Visibility
Status = Annotation.Status
Role = Membership.Role

LAYER_ALL = "all"
LAYER_MINE = "mine"
LAYER_PUBLIC = "public"
GROUP_LAYER_PREFIX = "group-"


def _authenticated(user) -> bool:
    return user is not None and user.is_authenticated


def _my_group_ids(user):
    return Subquery(Membership.objects.filter(user_id=user.pk).values("group_id"))


# Reading annotations -------------------------------------------------------------------------


def visible_annotations(user) -> Q:
    """The database form of can_view_annotation."""
    public = Q(visibility=Visibility.PUBLIC, status=Status.ACTIVE)
    if not _authenticated(user):
        return public
    own = Q(author_id=user.pk) & ~Q(status=Status.DELETED)
    group = Q(visibility=Visibility.GROUP, status=Status.ACTIVE, group_id__in=_my_group_ids(user))
    return own | public | group


def can_view_annotation(user, annotation: Annotation, group_ids: set[int] | None = None) -> bool:
    if annotation.status == Status.DELETED:
        return False
    if _authenticated(user) and annotation.author_id == user.pk:
        return True
    if annotation.status != Status.ACTIVE:
        return False
    if annotation.visibility == Visibility.PUBLIC:
        return True
    if annotation.visibility == Visibility.GROUP and _authenticated(user):
        if group_ids is None:
            group_ids = member_group_ids(user)
        return annotation.group_id in group_ids
    return False


def layer_filter(user, layer: str) -> Q:
    """Narrow what a viewer sees to one layer: mine, public, one of my groups, or all."""
    if layer == LAYER_MINE:
        return Q(author_id=user.pk) if _authenticated(user) else Q(pk__in=[])
    if layer == LAYER_PUBLIC:
        return Q(visibility=Visibility.PUBLIC)
    if layer.startswith(GROUP_LAYER_PREFIX):
        return Q(visibility=Visibility.GROUP, group__slug=layer.removeprefix(GROUP_LAYER_PREFIX))
    return Q()


# Writing annotations -------------------------------------------------------------------------


def can_annotate(user) -> bool:
    return _authenticated(user) and user.is_active


def can_edit_annotation(user, annotation: Annotation) -> bool:
    return (
        _authenticated(user)
        and annotation.author_id == user.pk
        and annotation.status != Status.DELETED
    )


can_delete_annotation = can_edit_annotation


def can_post_to_group(user, group: Group | None) -> bool:
    return group is not None and _authenticated(user) and is_member(user, group)


# Groups --------------------------------------------------------------------------------------


def member_group_ids(user) -> set[int]:
    if not _authenticated(user):
        return set()
    return set(Membership.objects.filter(user_id=user.pk).values_list("group_id", flat=True))


def membership(user, group: Group) -> Membership | None:
    if not _authenticated(user):
        return None
    return Membership.objects.filter(user_id=user.pk, group=group).first()


def is_member(user, group: Group) -> bool:
    return membership(user, group) is not None


def can_view_group(user, group: Group) -> bool:
    """A group's page, members and notes are for its members only."""
    return is_member(user, group)


def can_manage_members(user, group: Group) -> bool:
    """Promote, demote and remove members; see and renew the invite link."""
    member = membership(user, group)
    return member is not None and member.role == Role.OWNER


def can_change_role(actor: Membership | None, target: Membership) -> bool:
    return (
        actor is not None
        and actor.role == Role.OWNER
        and actor.group_id == target.group_id
        and target.role != Role.OWNER
    )


can_remove_member = can_change_role


def can_leave_group(member: Membership | None) -> bool:
    """Anyone but the owner, who must hand the group on first."""
    return member is not None and member.role != Role.OWNER


def groups_for_layers(user) -> list[Group]:
    """The groups whose layers a viewer may switch to: their own."""
    if not _authenticated(user):
        return []
    return list(Group.objects.filter(memberships__user_id=user.pk).order_by("name"))
