"""Everything readers add to a text: groups and their members, highlights and notes."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import (
    SearchQueryCombinable,
    SearchQueryField,
    SearchVector,
    SearchVectorCombinable,
    SearchVectorField,
)
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.db.models import Count, Exists, F, Func, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.urls import reverse

from reader.models import Document, Language, RegConfigField, Revision, search_vector

# Scope lexemes: a note's search vector also holds its document and its group as lexemes no
# text can make (PostgreSQL's parser never puts "§" in a word, and a searcher's "§d3" becomes
# "d3"), so "these words in this document" (or group) is one GIN lookup that intersects
# both posting lists, not two index scans ANDed as bitmaps: a third of the time with 1,000,000
# notes (tests/bench/bench_search.py). They have no position, so phrases are as before; ranking
# leaves them out (note_words()), as they would count in the length ts_rank divides by.
DOCUMENT_LEXEME = "§d"
GROUP_LEXEME = "§g"


class ScopeLexemes(SearchVectorCombinable, Func):
    """`§d<document_id>` and, for a group's note, `§g<group_id>`, as a tsvector."""

    template = (
        f"array_to_tsvector(array_remove(ARRAY['{DOCUMENT_LEXEME}' || (%(expressions)s)::text],"
        " NULL))"
    )
    arg_joiner = f")::text, '{GROUP_LEXEME}' || ("
    output_field = SearchVectorField()

    def __init__(self, document, group, **extra):
        super().__init__(document, group, **extra)


def note_words() -> Func:
    """A note's search vector without its scope lexemes: what ts_rank should weigh."""
    scope = Func(
        F("document_id"),
        F("group_id"),
        template=(
            f"array_remove(ARRAY['{DOCUMENT_LEXEME}' || (%(expressions)s)::text], NULL)::text[]"
        ),
        arg_joiner=f")::text, '{GROUP_LEXEME}' || (",
    )
    return Func(F("search"), scope, function="ts_delete", output_field=SearchVectorField())


class InScope(SearchQueryCombinable, Func):
    """The tsquery "every one of these scope lexemes", to AND (`&`) with the words' query."""

    template = "%(expressions)s::tsquery"
    output_field = SearchQueryField()

    def __init__(self, *, document_id: int | None = None, group_id: int | None = None):
        lexemes = []
        if document_id is not None:
            lexemes.append(f"'{DOCUMENT_LEXEME}{int(document_id)}'")
        if group_id is not None:
            lexemes.append(f"'{GROUP_LEXEME}{int(group_id)}'")
        if not lexemes:
            raise ValueError("A scope needs a document or a group.")
        super().__init__(Value(" & ".join(lexemes)))


def new_invite_token() -> str:
    return secrets.token_urlsafe(24)


class Group(models.Model):
    """A study group: members read together and share notes only they can see."""

    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=80, unique=True)
    description = models.TextField(blank=True, max_length=2000)
    # The invite link's secret. Regenerating it makes every earlier link useless.
    invite_token = models.CharField(max_length=64, unique=True, default=new_invite_token)
    invite_expires_at = models.DateTimeField(null=True, blank=True)
    # New notes and replies by members wait for a moderator's approval.
    pre_moderation = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("group", kwargs={"slug": self.slug})


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        MODERATOR = "moderator", "Moderator"
        MEMBER = "member", "Member"

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["group", "joined_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "group"], name="membership_unique"),
            # A group has exactly one owner; ownership moves, it is never shared.
            models.UniqueConstraint(
                fields=["group"], condition=Q(role="owner"), name="membership_one_owner"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.group} ({self.role})"


def _count(queryset):
    return Coalesce(
        Subquery(queryset.order_by().values("annotation").annotate(n=Count("pk")).values("n")[:1]),
        0,
    )


# Who may see what is annotations.policy's to say, and the policy imports this module; so this
# module never imports the policy. The policy hands its rules, as database filters, to the
# querysets below when the app is ready (AnnotationsConfig.ready); asked before then, they refuse.


@dataclass(frozen=True)
class VisibilityFilters:
    notes: Callable[[Any], Q]  # user -> the annotations they may see
    replies: Callable[[Any], Q]  # user -> the replies they may see
    layer: Callable[[Any, str], Q]  # (user, layer) -> the annotations in that layer


_visibility_filters: VisibilityFilters | None = None


def install_visibility_filters(filters: VisibilityFilters) -> None:
    global _visibility_filters
    _visibility_filters = filters


def visibility_filters() -> VisibilityFilters:
    if _visibility_filters is None:
        raise ImproperlyConfigured(
            "Nobody has told the annotation querysets who may see what: annotations.policy "
            "installs its filters in AnnotationsConfig.ready(). Is the app in INSTALLED_APPS, "
            "and Django set up?"
        )
    return _visibility_filters


class AnnotationQuerySet(models.QuerySet):
    def visible_to(self, user) -> AnnotationQuerySet:
        """What `user` may see: the policy's rule, applied in the database."""
        return self.filter(visibility_filters().notes(user))

    def in_layer(self, user, layer: str) -> AnnotationQuerySet:
        return self.visible_to(user).filter(visibility_filters().layer(user, layer))

    def with_discussion(self, user) -> AnnotationQuerySet:
        """Reply and reaction counts, and the viewer's own reactions, in the same query.
        Counts take only what everyone who sees the note may see: active replies."""
        active = Annotation.Status.ACTIVE
        reactions = Reaction.objects.filter(annotation=OuterRef("pk"))
        mine = reactions.filter(user_id=user.pk if user.is_authenticated else None)
        return self.annotate(
            reply_count=_count(Reply.objects.filter(annotation=OuterRef("pk"), status=active)),
            plus_ones=_count(reactions.filter(kind=Reaction.Kind.PLUS_ONE)),
            same_questions=_count(reactions.filter(kind=Reaction.Kind.SAME_QUESTION)),
            my_plus_one=Exists(mine.filter(kind=Reaction.Kind.PLUS_ONE)),
            my_same_question=Exists(mine.filter(kind=Reaction.Kind.SAME_QUESTION)),
        ).annotate(reaction_total=F("plus_ones") + F("same_questions"))


class Annotation(models.Model):
    """A highlight (no body) or a note (Markdown body) on a span of a document's text."""

    class Visibility(models.TextChoices):
        PRIVATE = "private", "Only me"
        GROUP = "group", "A group"
        PUBLIC = "public", "Public"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        PENDING = "pending", "Waiting for a moderator"
        HIDDEN = "hidden", "Hidden by a moderator"
        DELETED = "deleted", "Deleted"

    class Kind(models.TextChoices):
        SPAN = "span", "On selected words"
        PARAGRAPH = "paragraph", "On a whole paragraph"
        DOCUMENT = "document", "On the whole document"
        # Imported, but its quote was not found in the text: kept for its importer, who can
        # attach it to new words.
        ORPHAN = "orphan", "Not placed in the text"

    class Colour(models.TextChoices):
        # Each colour has a name, shown wherever it is: colour is never the only signal.
        YELLOW = "yellow", "Yellow"
        GREEN = "green", "Green"
        BLUE = "blue", "Blue"
        PINK = "pink", "Pink"
        PURPLE = "purple", "Purple"

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="annotations")
    # The revision whose paragraphs the offsets below count in.
    revision = models.ForeignKey(Revision, on_delete=models.CASCADE, related_name="+")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="annotations"
    )

    # What it is on: words (a span), a whole paragraph or the whole document (a discussion
    # opened without quoting words, the CommentPress way).
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.SPAN)
    # The target: W3C TextPositionSelector offsets, refined to paragraphs. Offsets count Unicode
    # code points of the paragraphs' canonical text; positions order paragraphs in the revision.
    # A paragraph discussion has start = end = its paragraph, offsets 0 and no quote; a
    # document discussion has empty keys.
    start_key = models.CharField(max_length=24, blank=True)
    start_offset = models.PositiveIntegerField()
    start_position = models.PositiveIntegerField()
    end_key = models.CharField(max_length=24, blank=True)
    end_offset = models.PositiveIntegerField()
    end_position = models.PositiveIntegerField()
    # ...and the W3C TextQuoteSelector: the quoted words with their context.
    exact = models.TextField(blank=True)
    prefix = models.CharField(max_length=32, blank=True)
    suffix = models.CharField(max_length=32, blank=True)

    colour = models.CharField(max_length=10, choices=Colour.choices, default=Colour.YELLOW)
    body = models.TextField(blank=True)  # Markdown as written; empty for a bare highlight
    body_html = models.TextField(blank=True)  # made from body by annotations.rendering on save
    tags = ArrayField(models.CharField(max_length=50), default=list, blank=True)

    visibility = models.CharField(
        max_length=10, choices=Visibility.choices, default=Visibility.PRIVATE
    )
    group = models.ForeignKey(
        Group, null=True, blank=True, on_delete=models.CASCADE, related_name="annotations"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    moderation_reason = models.CharField(max_length=500, blank=True)  # shown to the author
    # Discussion: a question with reactions and an accepted answer; a thread can be locked.
    is_question = models.BooleanField(default=False)
    answer = models.ForeignKey(
        "Reply", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    locked = models.BooleanField(default=False)
    # Bumped on every edit: an edit based on an older version is refused, never silently lost.
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Imported annotations: the IRI they had where they came from (so importing the same file
    # again adds nothing twice) and the name of their original creator.
    source_id = models.CharField(max_length=500, blank=True)
    source_creator = models.CharField(max_length=200, blank=True)
    # The document's language, for search (see reader.models.search_vector).
    language = RegConfigField(max_length=20, default=Language.ENGLISH)
    # The body's words, and the note's scope (see ScopeLexemes).
    search = models.GeneratedField(
        expression=SearchVector("body", config=F("language"))
        + ScopeLexemes(F("document_id"), F("group_id")),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    # Whether it is a note (a highlight has no body): kept beside the body so that the reading
    # page's index (annotation_page_idx) holds everything the page needs.
    has_body = models.GeneratedField(
        expression=~Q(body=""), output_field=models.BooleanField(), db_persist=True
    )

    objects = AnnotationQuerySet.as_manager()

    class Meta:
        ordering = ["start_position", "start_offset", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(visibility="group") & Q(group__isnull=False))
                | (~Q(visibility="group") & Q(group__isnull=True)),
                name="annotation_group_iff_group_visibility",
            ),
            models.CheckConstraint(
                condition=~Q(kind="span")
                | Q(start_position__lt=F("end_position"))
                | (Q(start_position=F("end_position")) & Q(start_offset__lt=F("end_offset"))),
                name="annotation_start_before_end",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["span", "paragraph", "document", "orphan"]),
                name="annotation_kind_known",
            ),
            models.UniqueConstraint(
                fields=["author", "document", "source_id"],
                condition=~Q(source_id=""),
                name="annotation_imported_once",
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="annotation_version_positive"),
            models.CheckConstraint(
                condition=Q(colour__in=["yellow", "green", "blue", "pink", "purple"]),
                name="annotation_colour_known",
            ),
            models.CheckConstraint(
                condition=Q(visibility__in=["private", "group", "public"]),
                name="annotation_visibility_known",
            ),
        ]
        indexes = [
            # The reading page: a document's annotations in text order, with every column the
            # page and the visibility policy read, so the page's marks come from the index
            # alone (an index-only scan), never the wide rows. Document exports walk it too.
            models.Index(
                fields=["document", "start_position", "start_offset", "id"],
                include=[
                    "revision",
                    "end_position",
                    "end_offset",
                    "kind",
                    "colour",
                    "status",
                    "visibility",
                    "author",
                    "group",
                    "has_body",
                ],
                name="annotation_page_idx",
            ),
            # My notes: a reader's own annotations, newest first.
            models.Index(fields=["author", "-created_at"], name="annotation_author_idx"),
            # Exports (annotations.transfer.exporting) walk a reader's or a group's notes in reading
            # order, a batch at a time from where the last one stopped.
            models.Index(
                fields=["author", "document", "start_position", "start_offset"],
                name="annotation_author_order_idx",
            ),
            models.Index(
                fields=["group", "document", "start_position", "start_offset"],
                condition=Q(group__isnull=False),
                name="annotation_group_order_idx",
            ),
            # A group's page: its recent notes.
            models.Index(
                fields=["group", "-created_at"],
                condition=Q(group__isnull=False),
                name="annotation_group_idx",
            ),
            # Filtering by tag.
            GinIndex(fields=["tags"], name="annotation_tags_idx"),
            # Full-text search over notes.
            GinIndex(fields=["search"], name="annotation_search_idx"),
            # Search over replies checks each one's note: from this index alone, never the
            # table (an index-only scan), which halves that step with 1,000,000 notes.
            models.Index(
                fields=["id"],
                include=["document", "group", "visibility", "status", "author"],
                name="annotation_audience_idx",
            ),
        ]

    def __str__(self) -> str:
        if self.kind != self.Kind.SPAN:
            return f"Discussion {self.get_kind_display().lower()}"
        kind = "Note" if self.is_note else "Highlight"
        return f"{kind} on “{self.exact[:40]}”"

    def get_absolute_url(self) -> str:
        return reverse("annotation", kwargs={"pk": self.pk})

    @property
    def is_note(self) -> bool:
        return bool(self.body)


class ReplyQuerySet(models.QuerySet):
    def visible_to(self, user) -> ReplyQuerySet:
        """What `user` may see: the policy's rule, applied in the database."""
        return self.filter(visibility_filters().replies(user))


class Reply(models.Model):
    """A message in a note's discussion thread. It is seen by exactly those who see the note."""

    Status = Annotation.Status

    annotation = models.ForeignKey(Annotation, on_delete=models.CASCADE, related_name="replies")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="replies"
    )
    body = models.TextField()
    body_html = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    moderation_reason = models.CharField(max_length=500, blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    source_id = models.CharField(max_length=500, blank=True)  # as on Annotation
    source_creator = models.CharField(max_length=200, blank=True)
    language = RegConfigField(max_length=20, default=Language.ENGLISH)
    search = search_vector("body")

    objects = ReplyQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "replies"
        constraints = [
            models.UniqueConstraint(
                fields=["annotation", "source_id"],
                condition=~Q(source_id=""),
                name="reply_imported_once",
            ),
        ]
        indexes = [
            # A thread: all replies of one note in one query.
            models.Index(fields=["annotation", "created_at"], name="reply_thread_idx"),
            # Full-text search over replies.
            GinIndex(fields=["search"], name="reply_search_idx"),
        ]

    def __str__(self) -> str:
        return f"Reply by {self.author_id} on {self.annotation_id}"

    def get_absolute_url(self) -> str:
        return f"{reverse('annotation', kwargs={'pk': self.annotation_id})}#reply-{self.pk}"


class Reaction(models.Model):
    class Kind(models.TextChoices):
        PLUS_ONE = "plus_one", "+1"
        SAME_QUESTION = "same_question", "Same question"

    annotation = models.ForeignKey(Annotation, on_delete=models.CASCADE, related_name="reactions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # Once each: the database, not a check in Python, stops a double count.
            models.UniqueConstraint(
                fields=["annotation", "user", "kind"], name="reaction_once_per_person"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["plus_one", "same_question"]), name="reaction_kind_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.annotation_id}"


class Flag(models.Model):
    class Reason(models.TextChoices):
        SPAM = "spam", "Spam"
        ABUSE = "abuse", "Abuse"
        OFF_TOPIC = "off_topic", "Off-topic"
        OTHER = "other", "Other"

    flagger = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    annotation = models.ForeignKey(
        Annotation, null=True, blank=True, on_delete=models.CASCADE, related_name="flags"
    )
    reply = models.ForeignKey(
        Reply, null=True, blank=True, on_delete=models.CASCADE, related_name="flags"
    )
    # Where the flagged content lives: its group, or none for public content (site staff).
    group = models.ForeignKey(
        Group, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    reason = models.CharField(max_length=10, choices=Reason.choices)
    comment = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(annotation__isnull=False, reply__isnull=True)
                | Q(annotation__isnull=True, reply__isnull=False),
                name="flag_one_target",
            ),
            models.UniqueConstraint(
                fields=["flagger", "annotation"],
                condition=Q(annotation__isnull=False),
                name="flag_annotation_once",
            ),
            models.UniqueConstraint(
                fields=["flagger", "reply"],
                condition=Q(reply__isnull=False),
                name="flag_reply_once",
            ),
            models.CheckConstraint(
                condition=Q(reason__in=["spam", "abuse", "off_topic", "other"]),
                name="flag_reason_known",
            ),
        ]
        indexes = [
            # The moderation queue: open flags of one group (or of public content), oldest first.
            models.Index(
                fields=["group", "created_at"],
                condition=Q(resolved_at__isnull=True),
                name="flag_open_queue_idx",
            ),
        ]

    def __str__(self) -> str:
        target = f"note {self.annotation_id}" if self.annotation_id else f"reply {self.reply_id}"
        return f"{self.get_reason_display()} flag on {target}"


class ModerationAction(models.Model):
    """The moderation log: one row per moderator act. Append-only — the app has no way to edit
    or delete a row, and a database trigger (migration 0003) refuses UPDATE and DELETE."""

    class Act(models.TextChoices):
        DISMISS = "dismiss", "Dismissed the flags"
        HIDE = "hide", "Hid"
        UNHIDE = "unhide", "Unhid"
        LOCK = "lock", "Locked the thread"
        UNLOCK = "unlock", "Unlocked the thread"
        APPROVE = "approve", "Approved"
        REJECT = "reject", "Rejected"
        REMOVE_MEMBER = "remove_member", "Removed a member"
        BAN = "ban", "Banned a member"
        UNBAN = "unban", "Lifted a ban"
        PRE_MODERATION = "pre_moderation", "Changed pre-moderation"
        MARK_ANSWER = "mark_answer", "Marked the answer"

    moderator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    # PROTECT: a group with a moderation record cannot be deleted out from under it.
    group = models.ForeignKey(
        Group, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    act = models.CharField(max_length=20, choices=Act.choices)
    annotation = models.ForeignKey(
        Annotation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reply = models.ForeignKey(
        Reply, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The person acted on (removed, banned) or whose content it is.",
    )
    reason = models.CharField(max_length=500, blank=True)
    old_state = models.CharField(max_length=40, blank=True)
    new_state = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["group", "-created_at"], name="moderation_log_idx")]

    def __str__(self) -> str:
        return f"{self.get_act_display()} ({self.created_at:%Y-%m-%d %H:%M})"


class Ban(models.Model):
    """A banned person cannot rejoin by invite link and loses access to the group's content."""

    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="bans")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    banned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["group", "user"], name="ban_unique")]

    def __str__(self) -> str:
        return f"{self.user_id} banned from {self.group_id}"


class Notification(models.Model):
    class Kind(models.TextChoices):
        REPLY = "reply", "Reply"
        MENTION = "mention", "Mention"
        MODERATION = "moderation", "Moderation"
        ANSWER = "answer", "Answer"

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=12, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    annotation = models.ForeignKey(
        Annotation, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    reply = models.ForeignKey(
        Reply, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    message = models.CharField(max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The bell: a person's unread notifications.
            models.Index(
                fields=["recipient", "-created_at"],
                condition=Q(read_at__isnull=True),
                name="notification_unread_idx",
            ),
            models.Index(fields=["recipient", "-created_at"], name="notification_list_idx"),
        ]

    def __str__(self) -> str:
        return self.message


class ReaderSettings(models.Model):
    """Per-person choices: email notifications, with a secret for one-click unsubscribe."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reader_settings"
    )
    email_notifications = models.BooleanField(default=False)
    unsubscribe_token = models.CharField(max_length=64, unique=True, default=new_invite_token)

    class Meta:
        verbose_name_plural = "reader settings"

    def __str__(self) -> str:
        return f"Settings of {self.user_id}"


class RateCounter(models.Model):
    """Counts a person's acts per time window, in PostgreSQL so every app process shares it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    action = models.CharField(max_length=20)
    window_start = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "action", "window_start"], name="rate_counter_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.action} by {self.user_id}: {self.count}"


class LiveEvent(models.Model):
    """Something readers of a document may need to see at once: kept briefly, so that a reader
    whose connection dropped catches up on what they missed (Last-Event-ID)."""

    document = models.ForeignKey(
        Document, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # The whole event as sent through NOTIFY: ids, paragraph keys and the audience before and
    # after the change. Never any text: a reader's page fetches what it may see.
    payload = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            # Catch-up: a document's events after an id.
            models.Index(fields=["document", "id"], name="live_event_catch_up_idx"),
        ]

    def __str__(self) -> str:
        return f"Event {self.pk} on document {self.document_id}"


class LivePresence(models.Model):
    """One open reading page: who has a document open now (rows of gone pages expire)."""

    stream = models.UUIDField(primary_key=True)
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    seen_at = models.DateTimeField()

    class Meta:
        indexes = [
            # "N reading now": a document's pages seen lately.
            models.Index(fields=["document", "seen_at"], name="live_presence_idx"),
        ]

    def __str__(self) -> str:
        return f"Reader of {self.document_id}"


class ApiToken(models.Model):
    """A personal API token. Only its SHA-256 is stored: the token itself is shown once, when it
    is made, and a stolen database cannot be used to call the API."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    key_hash = models.CharField(max_length=64, unique=True)
    # The first characters, so the owner can tell tokens apart on their account page.
    prefix = models.CharField(max_length=12)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
