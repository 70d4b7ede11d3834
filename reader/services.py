"""Writes on the reading side. Each is atomic: a refused import stores nothing."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils.text import slugify

from reader import importing
from reader.importing import ImportRefused
from reader.models import Document, Language, Paragraph, Revision

SLUG_MAX = 60
BATCH_SIZE = 2000


def document_import(
    *,
    source: str,
    fmt: str,
    title: str = "",
    author: str = "",
    source_ref: str = "",
    imported_by: AbstractBaseUser | None = None,
    language: str = Language.ENGLISH,
    progress: Callable[[int, int], None] | None = None,
) -> Document:
    """Split `source` into paragraphs and store it as a new document with its first revision.

    Raises ImportRefused (with a message for the reader) for input that cannot become a
    document; nothing is stored then. `progress(done, total)` is called as paragraphs are saved.
    """
    if len(source.encode("utf-8")) > settings.IMPORT_MAX_BYTES:
        raise ImportRefused(
            f"The text is larger than the limit of {_megabytes(settings.IMPORT_MAX_BYTES)}."
        )
    blocks = importing.split(source, fmt, max_nesting=settings.IMPORT_MAX_NESTING)
    title = (title or "").strip() or importing.guess_title(blocks) or "Untitled document"
    if len(title) > 300:
        raise ImportRefused("The title is too long (300 characters at most).")
    if len(author) > 300 or len(source_ref) > 500:
        raise ImportRefused("The author (300) or source (500 characters) is too long.")
    if language not in Language.values:
        raise ImportRefused(f"Unknown language {language!r}.")

    for attempt in range(5):
        try:
            with transaction.atomic():
                return _store(
                    blocks=blocks,
                    source=source,
                    fmt=fmt,
                    title=title,
                    author=author.strip(),
                    source_ref=source_ref.strip(),
                    imported_by=imported_by,
                    language=language,
                    progress=progress,
                    slug=_free_slug(title, attempt),
                )
        except IntegrityError:
            # Another import took the same slug between our check and our insert: try again.
            if attempt == 4:
                raise
    raise AssertionError("unreachable")


def _store(
    *, blocks, source, fmt, title, author, source_ref, imported_by, language, progress, slug
):
    document = Document(
        slug=slug,
        title=title,
        author=author,
        source=source_ref,
        imported_by=imported_by,
        language=language,
        paragraph_count=len(blocks),
        word_count=sum(len(block.text.split()) for block in blocks),
    )
    document.full_clean(exclude=["current_revision"])
    document.save()
    revision = Revision.objects.create(
        document=document, number=1, source_format=fmt, source_text=source, created_by=imported_by
    )
    rows = [
        Paragraph(
            revision=revision,
            position=position,
            key=block.key,
            kind=block.kind,
            level=block.level,
            ordered=block.ordered,
            text=block.text,
            html=block.html,
            language=language,
        )
        for position, block in enumerate(blocks)
    ]
    for start in range(0, len(rows), BATCH_SIZE):
        Paragraph.objects.bulk_create(rows[start : start + BATCH_SIZE])
        if progress:
            progress(min(start + BATCH_SIZE, len(rows)), len(rows))
    document.current_revision = revision
    document.save(update_fields=["current_revision"])
    return document


def _free_slug(title: str, attempt: int) -> str:
    base = slugify(title)[:SLUG_MAX].strip("-") or "document"
    taken = set(Document.objects.filter(slug__startswith=base).values_list("slug", flat=True))
    if base not in taken and attempt == 0:
        return base
    number = 2 + attempt
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g} MB"
