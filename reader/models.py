"""Documents, their revisions, and the paragraphs a revision is split into."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from django.db.models import F, Q
from django.urls import reverse


class Language(models.TextChoices):
    """The languages search understands: each is one of PostgreSQL's built-in text-search
    configurations, which stem words and drop stop words the way that language needs."""

    ENGLISH = "english", "English"
    FRENCH = "french", "French"
    GERMAN = "german", "German"
    SPANISH = "spanish", "Spanish"
    ITALIAN = "italian", "Italian"
    PORTUGUESE = "portuguese", "Portuguese"
    DUTCH = "dutch", "Dutch"
    SWEDISH = "swedish", "Swedish"
    RUSSIAN = "russian", "Russian"
    SIMPLE = "simple", "Other (no stemming)"


class RegConfigField(models.CharField):
    """A PostgreSQL `regconfig`: a text-search configuration by name. Stored in that type, the
    generated search columns can use it directly, and PostgreSQL accepts them as immutable."""

    def db_type(self, connection) -> str:
        return "regconfig"


def search_vector(column: str) -> models.GeneratedField:
    """A tsvector of `column` in the row's own language, kept up to date by PostgreSQL."""
    return models.GeneratedField(
        expression=SearchVector(column, config=F("language")),
        output_field=SearchVectorField(),
        db_persist=True,
    )


class Document(models.Model):
    slug = models.SlugField(max_length=80, unique=True)
    title = models.CharField(max_length=300)
    author = models.CharField(max_length=300, blank=True)
    source = models.CharField(
        max_length=500, blank=True, help_text="Where the text comes from: a URL or a citation."
    )
    # Chooses how search stems the words of the text and of the notes on it.
    language = models.CharField(max_length=20, choices=Language.choices, default=Language.ENGLISH)
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
    # The document's language, copied here because a generated column sees only its own row.
    language = RegConfigField(max_length=20, default=Language.ENGLISH)
    search = search_vector("text")

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
        indexes = [
            # Full-text search over documents' text.
            GinIndex(fields=["search"], name="paragraph_search_idx"),
        ]

    def __str__(self) -> str:
        return f"¶{self.number} {self.text[:60]}"

    def get_absolute_url(self) -> str:
        return reverse("paragraph", kwargs={"slug": self.revision.document.slug, "key": self.key})

    @property
    def number(self) -> int:
        """The paragraph number shown in the margin, counting from 1."""
        return self.position + 1
