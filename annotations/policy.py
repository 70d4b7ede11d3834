"""Who may see and do what. The only place that decides it.

Every page, fragment, count, list and live event asks this module; nothing filters visibility
on its own.

Who sees a note or a reply is written once, as data: NOTE_RULES and REPLY_RULES below, each
rule one line saying which audience (the author, anyone, the group's members, its moderators,
site staff) sees content in which statuses, on notes of which visibilities. Every form of the
rule is read from that table, so a change to it reaches them all at once:
- objects in memory: `can_view_annotation`, `can_view_reply`, `in_thread_audience`,
  `thread_reply_filter` (memberships asked of the database only when a rule needs them);
- the database: `visible_annotations`, `visible_replies`, which
  `Annotation.objects.visible_to(user)` and `Reply.objects.visible_to(user)` apply (the
  policy hands them to the models in AnnotationsConfig.ready: models never import the policy);
- live events: `audience_includes`, over the facts an event carries (`audience_of`) and the
  memberships a stream already holds, without a query.

The rules, in words:
- private: the author only;
- group: current members of the group (banned or departed members lose access);
- public: anyone who may read the document (every document is readable);
- replies: exactly those who see their note, and the reply's own status below; others'
  replies in a group's thread are for its current members (an author who left keeps only
  their own words);
- hidden or pending (waiting for approval): the author, and the moderators who can act on it —
  the group's moderators and owner for group content, site staff for public content;
  nobody else sees it or counts it;
- deleted: nobody;
- moderators act only inside their own group; site staff act on public content;
- what a viewer may not see answers 404, never 403: its existence is not confirmed.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import reduce
from typing import NamedTuple, Protocol

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


# Who sees what: the rules -----------------------------------------------------------------------


class Audience(StrEnum):
    AUTHOR = "author"  # whoever wrote it
    ANYONE = "anyone"  # anyone who may read the document
    MEMBER = "member"  # the current members of the note's group
    MODERATOR = "moderator"  # the moderators and the owner of the note's group
    STAFF = "staff"  # site staff


@dataclass(frozen=True)
class Rule:
    """Content in one of `statuses`, on a note of one of `visibilities`, is seen by `audience`."""

    statuses: frozenset[str]
    visibilities: frozenset[str]
    audience: Audience


def rule(statuses: Iterable[str], visibilities: Iterable[str], audience: Audience) -> Rule:
    return Rule(frozenset(statuses), frozenset(visibilities), audience)


EVERY_STATUS = frozenset(Status)
EVERY_VISIBILITY = frozenset(Visibility)
NOT_DELETED = EVERY_STATUS - {Status.DELETED}

# A note is seen by whoever one of these lets see it; deleted notes are in no rule.
NOTE_RULES = (
    rule(NOT_DELETED, EVERY_VISIBILITY, Audience.AUTHOR),
    rule([Status.ACTIVE], [Visibility.PUBLIC], Audience.ANYONE),
    rule([Status.ACTIVE], [Visibility.GROUP], Audience.MEMBER),
    rule(AWAITING, [Visibility.GROUP], Audience.MODERATOR),
    rule(AWAITING, [Visibility.PUBLIC], Audience.STAFF),
)

# A reply is seen by those who see its note (NOTE_RULES), and among them by those one of these
# lets see it. Read over a reply, status and author are the reply's own; visibility and group
# are its note's.
REPLY_RULES = (
    rule(NOT_DELETED, EVERY_VISIBILITY, Audience.AUTHOR),
    rule([Status.ACTIVE], [Visibility.PRIVATE, Visibility.PUBLIC], Audience.ANYONE),
    rule([Status.ACTIVE], [Visibility.GROUP], Audience.MEMBER),
    rule(AWAITING, [Visibility.GROUP], Audience.MODERATOR),
    rule(AWAITING, [Visibility.PUBLIC], Audience.STAFF),
)


class Facts(NamedTuple):
    """What the rules read about a note or a reply."""

    status: str
    visibility: str
    group_id: int | None
    author_id: int | None

    @classmethod
    def of_note(cls, annotation: Annotation) -> Facts:
        return cls(
            annotation.status, annotation.visibility, annotation.group_id, annotation.author_id
        )

    @classmethod
    def of_reply(cls, reply, annotation: Annotation) -> Facts:
        return cls(reply.status, annotation.visibility, annotation.group_id, reply.author_id)


class Viewer(Protocol):
    """What the rules read about a viewer."""

    user_id: int | None  # None: anonymous
    is_staff: bool

    def is_member(self, group_id: int | None) -> bool: ...

    def moderates(self, group_id: int | None) -> bool: ...


@dataclass(frozen=True)
class KnownViewer:
    """A viewer whose memberships are already in hand (a live stream loads them once)."""

    user_id: int | None
    is_staff: bool = False
    groups: Collection[int] = frozenset()
    moderated: Collection[int] = frozenset()

    def is_member(self, group_id: int | None) -> bool:
        return group_id in self.groups

    def moderates(self, group_id: int | None) -> bool:
        return group_id in self.moderated


class _AskingViewer:
    """A user, anonymous or not: their memberships are asked of the database when a rule first
    needs them, and once."""

    def __init__(self, user, group_ids: Collection[int] | None = None):
        self._user = user
        self.user_id = user.pk if _authenticated(user) else None
        self.is_staff = self.user_id is not None and bool(user.is_staff)
        self._groups = group_ids
        self._moderated: dict[int, bool] = {}

    def is_member(self, group_id: int | None) -> bool:
        if self.user_id is None:
            return False
        if self._groups is None:
            self._groups = member_group_ids(self._user)
        return group_id in self._groups

    def moderates(self, group_id: int | None) -> bool:
        if self.user_id is None or group_id is None:
            return False
        if group_id not in self._moderated:
            self._moderated[group_id] = Membership.objects.filter(
                user_id=self.user_id, group_id=group_id, role__in=MODERATING_ROLES
            ).exists()
        return self._moderated[group_id]


def _in_audience(audience: Audience, viewer: Viewer, it: Facts) -> bool:
    """An audience as a predicate over a viewer and a note or reply in memory."""
    match audience:
        case Audience.AUTHOR:
            return viewer.user_id is not None and it.author_id == viewer.user_id
        case Audience.ANYONE:
            return True
        case Audience.MEMBER:
            return viewer.is_member(it.group_id)
        case Audience.MODERATOR:
            return viewer.moderates(it.group_id)
        case Audience.STAFF:
            return viewer.is_staff
    raise ValueError(f"no predicate for the audience {audience!r}")


def permits(rules: Iterable[Rule], viewer: Viewer, it: Facts) -> bool:
    """Whether one of `rules` lets `viewer` see `it`. A rule asks about the viewer (perhaps of
    the database) only once the content's status and visibility fall under it."""
    return any(
        it.status in r.statuses
        and it.visibility in r.visibilities
        and _in_audience(r.audience, viewer, it)
        for r in rules
    )


def sees_note(viewer: Viewer, note: Facts) -> bool:
    return permits(NOTE_RULES, viewer, note)


def sees_reply(viewer: Viewer, note: Facts, reply: Facts) -> bool:
    return sees_note(viewer, note) and permits(REPLY_RULES, viewer, reply)


# The same rules as a database filter: the columns a rule reads, and each audience for one user.


@dataclass(frozen=True)
class _Columns:
    status: str
    visibility: str
    group: str
    author: str


def _note_columns(through: str) -> _Columns:
    return _Columns(
        *(f"{through}{name}" for name in ("status", "visibility", "group_id", "author_id"))
    )


# A reply's own status and author; its note's visibility and group, read through the join.
_REPLY_COLUMNS = _Columns("status", "annotation__visibility", "annotation__group_id", "author_id")


def _my_group_ids(user):
    # order_by(): Membership's default ordering would join groups just to sort a subquery.
    return Subquery(Membership.objects.filter(user_id=user.pk).order_by().values("group_id"))


def _moderated_group_ids(user):
    return Subquery(
        Membership.objects.filter(user_id=user.pk, role__in=MODERATING_ROLES)
        .order_by()
        .values("group_id")
    )


def _audience_filter(audience: Audience, user, c: _Columns) -> Q | None:
    """An audience as a filter for one user; None when it cannot include them."""
    if audience == Audience.ANYONE:
        return Q()
    if not _authenticated(user):
        return None
    match audience:
        case Audience.AUTHOR:
            return Q(**{c.author: user.pk})
        case Audience.MEMBER:
            return Q(**{f"{c.group}__in": _my_group_ids(user)})
        case Audience.MODERATOR:
            return Q(**{f"{c.group}__in": _moderated_group_ids(user)})
        case Audience.STAFF:
            return Q() if user.is_staff else None
    raise ValueError(f"no filter for the audience {audience!r}")


def _one_of(column: str, chosen: frozenset[str], every: frozenset[str]) -> Q:
    """`column` holds one of `chosen`, said the shortest way ("<> 'deleted'" for all but one)."""
    if chosen == every:
        return Q()
    if len(chosen) == 1:
        return Q(**{column: next(iter(chosen))})
    if len(others := every - chosen) == 1:
        return ~Q(**{column: next(iter(others))})
    return Q(**{f"{column}__in": sorted(chosen)})


def _rules_filter(rules: Iterable[Rule], user, columns: _Columns) -> Q:
    """`rules` for one user as a filter: the rules that can include them, ORed."""
    allowed = []
    for r in rules:
        audience = _audience_filter(r.audience, user, columns)
        if audience is None:
            continue
        q = (
            audience
            & _one_of(columns.status, r.statuses, EVERY_STATUS)
            & _one_of(columns.visibility, r.visibilities, EVERY_VISIBILITY)
        )
        if not q:
            return Q()  # a rule that lets them see everything (an empty Q would vanish in an OR)
        allowed.append(q)
    return reduce(operator.or_, allowed) if allowed else Q(pk__in=[])


# Reading -------------------------------------------------------------------------------------


def visible_annotations(user, through: str = "") -> Q:
    """NOTE_RULES as a database filter. `through` applies it to a related note ("annotation__"
    from a reply)."""
    return _rules_filter(NOTE_RULES, user, _note_columns(through))


def visible_replies(user) -> Q:
    """A reply's note's rules and REPLY_RULES, as a database filter.

    The note's rules are applied through the join to the reply's own note: PostgreSQL then
    checks each reply against its note, rather than against a list of every note the reader may
    see (which, with a million notes, made a search over replies take a minute)."""
    note = visible_annotations(user, through="annotation__")
    return note & _rules_filter(REPLY_RULES, user, _REPLY_COLUMNS)


def can_view_annotation(user, annotation: Annotation, group_ids: set[int] | None = None) -> bool:
    """NOTE_RULES over a note in memory; `group_ids`: the viewer's groups, if already known."""
    return sees_note(_AskingViewer(user, group_ids), Facts.of_note(annotation))


def can_view_reply(user, reply, annotation: Annotation | None = None) -> bool:
    annotation = annotation or reply.annotation
    note, it = Facts.of_note(annotation), Facts.of_reply(reply, annotation)
    return sees_reply(_AskingViewer(user), note, it)


def in_thread_audience(user, annotation: Annotation) -> bool:
    """Whether the viewer sees others' active replies in this note's thread: in a group's
    thread, only its current members do (an author who left, or was banned, keeps only their
    own words)."""
    someone_elses = Facts(Status.ACTIVE, annotation.visibility, annotation.group_id, None)
    return permits(REPLY_RULES, _AskingViewer(user), someone_elses)


def thread_reply_filter(user, annotation: Annotation) -> Callable[[object], bool]:
    """For one thread: a predicate telling which of its replies the viewer may see (the same
    answer as can_view_reply, with the viewer's memberships asked once for the whole thread)."""
    viewer = _AskingViewer(user)
    note_seen = sees_note(viewer, Facts.of_note(annotation))

    def visible(reply) -> bool:
        return note_seen and permits(REPLY_RULES, viewer, Facts.of_reply(reply, annotation))

    return visible


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
    page's marks, annotations.reading.page) keys on it, so a change here — a group joined or left, a
    role, staff status — is never served stale. Keep it in step with `Viewer`: an audience that
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
    """The rules over a live event's facts (audience_of) and a viewer's memberships in hand."""
    if not facts:
        return False
    viewer = KnownViewer(user_id, is_staff, groups, moderated)
    note = Facts(facts["status"], facts["visibility"], facts["group"], facts["author"])
    if "reply_status" not in facts:
        return sees_note(viewer, note)
    reply = note._replace(status=facts["reply_status"], author_id=facts["reply_author"])
    return sees_reply(viewer, note, reply)
