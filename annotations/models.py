"""Everything readers add to a text: groups and their members, highlights and notes."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import F, Q
from django.urls import reverse

from reader.models import Document, Revision


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


class AnnotationQuerySet(models.QuerySet):
    def visible_to(self, user) -> AnnotationQuerySet:
        """What `user` may see: the policy's rule, applied in the database."""
        from annotations import policy

        return self.filter(policy.visible_annotations(user))

    def in_layer(self, user, layer: str) -> AnnotationQuerySet:
        from annotations import policy

        return self.visible_to(user).filter(policy.layer_filter(user, layer))


class Annotation(models.Model):
    """A highlight (no body) or a note (Markdown body) on a span of a document's text."""

    class Visibility(models.TextChoices):
        PRIVATE = "private", "Only me"
        GROUP = "group", "A group"
        PUBLIC = "public", "Public"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        HIDDEN = "hidden", "Hidden by a moderator"
        DELETED = "deleted", "Deleted"

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

    # The target: W3C TextPositionSelector offsets, refined to paragraphs. Offsets count Unicode
    # code points of the paragraphs' canonical text; positions order paragraphs in the revision.
    start_key = models.CharField(max_length=24)
    start_offset = models.PositiveIntegerField()
    start_position = models.PositiveIntegerField()
    end_key = models.CharField(max_length=24)
    end_offset = models.PositiveIntegerField()
    end_position = models.PositiveIntegerField()
    # ...and the W3C TextQuoteSelector: the quoted words with their context.
    exact = models.TextField()
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
    # Bumped on every edit: an edit based on an older version is refused, never silently lost.
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

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
                condition=Q(start_position__lt=F("end_position"))
                | (Q(start_position=F("end_position")) & Q(start_offset__lt=F("end_offset"))),
                name="annotation_start_before_end",
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
            # The reading page: a document's live annotations in text order.
            models.Index(
                fields=["document", "start_position", "start_offset"],
                condition=Q(status="active"),
                name="annotation_page_idx",
            ),
            # My notes: a reader's own annotations, newest first.
            models.Index(fields=["author", "-created_at"], name="annotation_author_idx"),
            # A group's page: its recent notes.
            models.Index(
                fields=["group", "-created_at"],
                condition=Q(group__isnull=False),
                name="annotation_group_idx",
            ),
            # Filtering by tag.
            GinIndex(fields=["tags"], name="annotation_tags_idx"),
        ]

    def __str__(self) -> str:
        kind = "Note" if self.is_note else "Highlight"
        return f"{kind} on “{self.exact[:40]}”"

    def get_absolute_url(self) -> str:
        return reverse("annotation", kwargs={"pk": self.pk})

    @property
    def is_note(self) -> bool:
        return bool(self.body)
