"""Documents, their revisions, and the paragraphs a revision is split into."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse


class Document(models.Model):
    slug = models.SlugField(max_length=80, unique=True)
    title = models.CharField(max_length=300)
    author = models.CharField(max_length=300, blank=True)
    source = models.CharField(
        max_length=500, blank=True, help_text="Where the text comes from: a URL or a citation."
    )
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # The revision readers see. Set once the first revision's paragraphs are stored.
    current_revision = models.OneToOneField(
        "Revision", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Kept beside the revision so the library lists documents without counting paragraphs.
    paragraph_count = models.PositiveIntegerField(default=0)
    word_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The library: newest first.
            models.Index(fields=["-created_at", "-id"], name="document_newest_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("document", kwargs={"slug": self.slug})


class Revision(models.Model):
    class Format(models.TextChoices):
        TEXT = "text", "Plain text"
        MARKDOWN = "markdown", "Markdown"
        HTML = "html", "HTML"

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    source_format = models.CharField(max_length=10, choices=Format.choices)
    # The original text, kept as given so a revision can always be split again.
    source_text = models.TextField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["document", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["document", "number"], name="revision_number_unique_per_document"
            ),
            models.CheckConstraint(condition=Q(number__gte=1), name="revision_number_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.document} (revision {self.number})"


class Paragraph(models.Model):
    class Kind(models.TextChoices):
        PARAGRAPH = "paragraph", "Paragraph"
        HEADING = "heading", "Heading"
        BLOCKQUOTE = "blockquote", "Block quote"
        LIST_ITEM = "list_item", "List item"
        CODE = "code", "Code"

    revision = models.ForeignKey(Revision, on_delete=models.CASCADE, related_name="paragraphs")
    position = models.PositiveIntegerField()
    # Short, URL-safe, unique in the revision: the paragraph's anchor is id="p-<key>".
    key = models.CharField(max_length=24)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.PARAGRAPH)
    # Heading level 1-6, or list nesting depth; 0 otherwise.
    level = models.PositiveSmallIntegerField(default=0)
    ordered = models.BooleanField(default=False)
    # Canonical plain text (NFC, whitespace collapsed): annotation offsets count its code points.
    text = models.TextField()
    # Sanitized inline HTML whose text nodes are exactly `text`.
    html = models.TextField()

    class Meta:
        ordering = ["revision", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["revision", "position"], name="paragraph_position_unique_per_revision"
            ),
            models.UniqueConstraint(
                fields=["revision", "key"], name="paragraph_key_unique_per_revision"
            ),
            models.CheckConstraint(
                condition=Q(level__lte=6) | ~Q(kind="heading"), name="paragraph_heading_level"
            ),
        ]

    def __str__(self) -> str:
        return f"¶{self.number} {self.text[:60]}"

    def get_absolute_url(self) -> str:
        return reverse("paragraph", kwargs={"slug": self.revision.document.slug, "key": self.key})

    @property
    def number(self) -> int:
        """The paragraph number shown in the margin, counting from 1."""
        return self.position + 1
