"""Who may see and do what. The only place that decides it.

Every page, fragment, count and list asks this module; nothing filters visibility on its own.
Each permission is a small pure predicate over (user, object); `visible_annotations` and
`visible_replies` are the same rules for the database, applied through
`Annotation.objects.visible_to(user)` and `Reply.objects.visible_to(user)`.

The rules:
- private: the author only;
- group: current members of the group (banned or departed members lose access);
- public: anyone who may read the document (every document is readable);
- replies: exactly those who see their note, and the reply's own status below;
- hidden or pending (waiting for approval): the author, and the moderators who can act on it —
  the group's moderators and owner for group content, site staff for public content;
  nobody else sees it or counts it;
- deleted: nobody;
- moderators act only inside their own group; site staff act on public content;
- what a viewer may not see answers 404, never 403: its existence is not confirmed.
"""

from __future__ import annotations

import re

from django.db.models import Q, Subquery

from annotations.models import Annotation, Ban, Group, Membership

Visibility = Annotation.Visibility
Status = Annotation.Status
Role = Membership.Role
MODERATING_ROLES = (Role.OWNER, Role.MODERATOR)
AWAITING = (Status.HIDDEN, Status.PENDING)

LAYER_ALL = "all"
LAYER_MINE = "mine"
LAYER_PUBLIC = "public"
GROUP_LAYER_PREFIX = "group-"


def _authenticated(user) -> bool:
    return user is not None and user.is_authenticated


def _my_group_ids(user):
    # order_by(): Membership's default ordering would join groups just to sort a subquery.
    return Subquery(Membership.objects.filter(user_id=user.pk).order_by().values("group_id"))


def _moderated_group_ids(user):
    return Subquery(
        Membership.objects.filter(user_id=user.pk, role__in=MODERATING_ROLES)
        .order_by()
        .values("group_id")
    )


# Reading -------------------------------------------------------------------------------------


def visible_annotations(user, through: str = "") -> Q:
    """The database form of can_view_annotation. `through` applies it to a related note
    ("annotation__" from a reply)."""
    f = through

    def q(**lookups) -> Q:
        return Q(**{f + name: value for name, value in lookups.items()})

    public = q(visibility=Visibility.PUBLIC, status=Status.ACTIVE)
    if not _authenticated(user):
        return public
    own = q(author_id=user.pk) & ~q(status=Status.DELETED)
    group = q(visibility=Visibility.GROUP, status=Status.ACTIVE, group_id__in=_my_group_ids(user))
    moderated = q(
        visibility=Visibility.GROUP, status__in=AWAITING, group_id__in=_moderated_group_ids(user)
    )
    rule = own | public | group | moderated
    if user.is_staff:
        rule |= q(visibility=Visibility.PUBLIC, status__in=AWAITING)
    return rule


def visible_replies(user) -> Q:
    """The database form of can_view_reply: the note is visible, and so is the reply. Others'
    replies in a group thread are for the group's current members only.

    The note's rule is applied through the join to the reply's own note: PostgreSQL then checks
    each reply against its note, rather than against a list of every note the reader may see
    (which, with a million notes, made a search over replies take a minute)."""
    note = visible_annotations(user, through="annotation__")
    if _authenticated(user):
        audience = ~Q(annotation__visibility=Visibility.GROUP) | Q(
            annotation__group_id__in=_my_group_ids(user)
        )
    else:
        audience = ~Q(annotation__visibility=Visibility.GROUP)
    rule = Q(status=Status.ACTIVE) & audience
    if _authenticated(user):
        rule |= Q(author_id=user.pk) & ~Q(status=Status.DELETED)
        rule |= Q(
            status__in=AWAITING,
            annotation__visibility=Visibility.GROUP,
            annotation__group_id__in=_moderated_group_ids(user),
        )
        if user.is_staff:
            rule |= Q(status__in=AWAITING, annotation__visibility=Visibility.PUBLIC)
    return note & rule


def can_view_annotation(user, annotation: Annotation, group_ids: set[int] | None = None) -> bool:
    if annotation.status == Status.DELETED:
        return False
    if _authenticated(user) and annotation.author_id == user.pk:
        return True
    if annotation.status in AWAITING:
        return can_moderate(user, annotation)
    if annotation.visibility == Visibility.PUBLIC:
        return True
    if annotation.visibility == Visibility.GROUP and _authenticated(user):
        if group_ids is None:
            group_ids = member_group_ids(user)
        return annotation.group_id in group_ids
    return False


def can_view_reply(user, reply, annotation: Annotation | None = None) -> bool:
    annotation = annotation or reply.annotation
    if not can_view_annotation(user, annotation) or reply.status == Status.DELETED:
        return False
    if _authenticated(user) and reply.author_id == user.pk:
        return True
    if not in_thread_audience(user, annotation):
        return False
    if reply.status == Status.ACTIVE:
        return True
    return can_moderate(user, annotation)


def in_thread_audience(user, annotation: Annotation) -> bool:
    """Others' replies in a group thread are for the group's current members (an author who
    left, or was banned, keeps only their own words)."""
    if annotation.visibility != Visibility.GROUP:
        return True
    return _authenticated(user) and annotation.group_id in member_group_ids(user)


_GROUP_LAYER = re.compile(r"group-[-a-zA-Z0-9_]{1,80}")


def clean_layer(raw: str) -> str:
    """A layer name from a request, or "all": anything else never reaches a page or a URL."""
    if raw in (LAYER_ALL, LAYER_MINE, LAYER_PUBLIC) or _GROUP_LAYER.fullmatch(raw or ""):
        return raw
    return LAYER_ALL


def layer_filter(user, layer: str) -> Q:
    """Narrow what a viewer sees to one layer: mine, public, one of my groups, or all."""
    if layer == LAYER_MINE:
        return Q(author_id=user.pk) if _authenticated(user) else Q(pk__in=[])
    if layer == LAYER_PUBLIC:
        return Q(visibility=Visibility.PUBLIC)
    if layer.startswith(GROUP_LAYER_PREFIX):
        return Q(visibility=Visibility.GROUP, group__slug=layer.removeprefix(GROUP_LAYER_PREFIX))
    return Q()


def audience_key(user) -> tuple:
    """Everything the rules above read about a viewer, as one hashable value: viewers with
    equal keys may see exactly the same annotations. What is cached per viewer (the reading
    page's marks, annotations.reading) keys on it, so a change here — a group joined or left, a
    role, staff status — is never served stale. Keep it in step with the rules: a rule that
    reads something new about the viewer must add it here."""
    if not _authenticated(user):
        return ("anonymous",)
    memberships = tuple(
        Membership.objects.filter(user_id=user.pk)
        .order_by("group_id")
        .values_list("group_id", "role", "group__slug")
    )
    return ("person", user.pk, bool(user.is_staff), can_annotate(user), memberships)


# Writing -------------------------------------------------------------------------------------


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


def can_reply(user, annotation: Annotation) -> bool:
    """Anyone who sees an active, unlocked thread (and is logged in) may reply; in a group's
    thread, only its current members."""
    return (
        can_annotate(user)
        and annotation.status == Status.ACTIVE
        and not annotation.locked
        and can_view_annotation(user, annotation)
        and in_thread_audience(user, annotation)
    )


def can_edit_reply(user, reply) -> bool:
    return _authenticated(user) and reply.author_id == user.pk and reply.status != Status.DELETED


can_delete_reply = can_edit_reply


def can_react(user, annotation: Annotation) -> bool:
    return (
        can_annotate(user)
        and annotation.status == Status.ACTIVE
        and annotation.author_id != user.pk
        and can_view_annotation(user, annotation)
    )


def can_flag_in_thread(user, annotation: Annotation) -> bool:
    """Whether the viewer may flag anything in this thread. Private notes have no audience and
    no moderator: there is nobody to flag them to."""
    return (
        can_annotate(user)
        and annotation.visibility != Visibility.PRIVATE
        and can_view_annotation(user, annotation)
        and in_thread_audience(user, annotation)
    )


def can_flag(user, annotation: Annotation, reply=None) -> bool:
    """Anyone who can see a note or a reply may flag it, except its own author."""
    content = reply if reply is not None else annotation
    return can_flag_in_thread(user, annotation) and content.author_id != user.pk


def can_mark_answer(user, annotation: Annotation) -> bool:
    """The asker or a moderator picks the answer to a question."""
    if not annotation.is_question or not _authenticated(user):
        return False
    return annotation.author_id == user.pk or can_moderate(user, annotation)


def can_mark_question(user, annotation: Annotation) -> bool:
    return can_edit_annotation(user, annotation)


# Moderation ----------------------------------------------------------------------------------


def moderates_group(user, group: Group | None) -> bool:
    member = membership(user, group) if group is not None else None
    return member is not None and member.role in MODERATING_ROLES


def can_moderate(user, annotation: Annotation) -> bool:
    """Hide, unhide, lock, approve: group moderators and owners in their own group; site staff
    for public content. Private notes are nobody's to moderate."""
    if not _authenticated(user):
        return False
    if annotation.visibility == Visibility.GROUP:
        return moderates_group(user, annotation.group)
    if annotation.visibility == Visibility.PUBLIC:
        return bool(user.is_staff)
    return False


def can_moderate_scope(user, group: Group | None) -> bool:
    """The moderation queue and log of a group (its moderators), or of public content (staff)."""
    if group is None:
        return _authenticated(user) and bool(user.is_staff)
    return moderates_group(user, group)


can_read_log = can_moderate_scope


def can_ban(user, group: Group, target: Membership | None) -> bool:
    """Moderators remove and ban members; nobody acts on the owner or on a fellow moderator
    except the owner."""
    actor = membership(user, group)
    if actor is None or actor.role not in MODERATING_ROLES:
        return False
    if target is None:
        return True
    if target.role == Role.OWNER:
        return False
    return not (target.role == Role.MODERATOR and actor.role != Role.OWNER)


def can_set_pre_moderation(user, group: Group) -> bool:
    return moderates_group(user, group)


def needs_approval(user, group: Group | None) -> bool:
    """Contributions to a pre-moderated group wait for approval, unless a moderator makes them."""
    if group is None or moderates_group(user, group):
        return False
    # Asked of the database: the switch may have changed since `group` was loaded.
    return Group.objects.filter(pk=group.pk, pre_moderation=True).exists()


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


def is_banned(user, group: Group) -> bool:
    return _authenticated(user) and Ban.objects.filter(user_id=user.pk, group=group).exists()


def can_view_group(user, group: Group) -> bool:
    """A group's page, members and notes are for its members only."""
    return is_member(user, group)


def can_manage_members(user, group: Group) -> bool:
    """Promote, demote; see and renew the invite link."""
    member = membership(user, group)
    return member is not None and member.role == Role.OWNER


def can_change_role(actor: Membership | None, target: Membership) -> bool:
    return (
        actor is not None
        and actor.role == Role.OWNER
        and actor.group_id == target.group_id
        and target.role != Role.OWNER
    )


def can_remove_member(actor: Membership | None, target: Membership) -> bool:
    """The owner removes anyone but themself; a moderator removes plain members."""
    if actor is None or actor.group_id != target.group_id or target.role == Role.OWNER:
        return False
    if actor.role == Role.OWNER:
        return True
    return actor.role == Role.MODERATOR and target.role == Role.MEMBER


def can_leave_group(member: Membership | None) -> bool:
    """Anyone but the owner, who must hand the group on first."""
    return member is not None and member.role != Role.OWNER


def groups_for_layers(user) -> list[Group]:
    """The groups whose layers a viewer may switch to: their own."""
    if not _authenticated(user):
        return []
    return list(Group.objects.filter(memberships__user_id=user.pk).order_by("name"))


def thread_reply_filter(user, annotation: Annotation):
    """For one thread whose note the viewer may see: a predicate telling which of its replies
    they may see (the same rule as can_view_reply, with the moderator question asked once)."""
    moderator = can_moderate(user, annotation)
    audience = in_thread_audience(user, annotation)
    me = user.pk if _authenticated(user) else None

    def visible(reply) -> bool:
        if reply.status == Status.DELETED:
            return False
        if reply.author_id == me:
            return True
        if not audience:
            return False
        return reply.status == Status.ACTIVE or moderator

    return visible


# Live events -----------------------------------------------------------------------------------


def audience_of(annotation: Annotation, reply=None) -> dict:
    """The facts that decide who may see an annotation (or a reply in its thread), carried by a
    live event so that each stream can decide without a query."""
    facts = {
        "visibility": annotation.visibility,
        "group": annotation.group_id,
        "author": annotation.author_id,
        "status": annotation.status,
    }
    if reply is not None:
        facts["reply_author"] = reply.author_id
        facts["reply_status"] = reply.status
    return facts


def audience_includes(
    facts: dict | None, *, user_id, is_staff: bool, groups: set[int], moderated: set[int]
) -> bool:
    """can_view_annotation / can_view_reply over an event's facts and a viewer's memberships."""
    if not facts:
        return False

    def sees(status: str, author) -> bool:
        if status == Status.DELETED:
            return False
        if user_id is not None and author == user_id:
            return True
        if status == Status.ACTIVE:
            return None  # decided by the audience below
        if facts["visibility"] == Visibility.GROUP:
            return facts["group"] in moderated
        return facts["visibility"] == Visibility.PUBLIC and is_staff

    note = sees(facts["status"], facts["author"])
    if note is None:
        if facts["visibility"] == Visibility.PUBLIC:
            note = True
        elif facts["visibility"] == Visibility.GROUP:
            note = facts["group"] in groups
        else:
            note = False
    if not note or "reply_status" not in facts:
        return bool(note)
    reply = sees(facts["reply_status"], facts["reply_author"])
    return True if reply is None else reply
