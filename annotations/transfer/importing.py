"""Importing W3C Web Annotation JSON-LD (or a Hypothesis export) onto a document.

Every annotation in the file becomes the importer's, with the visibility they chose; the
original creator's name is kept beside it. Each is placed by annotations.placing; what cannot
be placed is kept as an orphan for the importer to attach by hand. Replies follow the notes
they answer. The whole file is one transaction: a file with anything malformed in it is
refused with a message naming the place, and nothing is stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from annotations import jsonld, policy
from annotations.anchoring import CONTEXT, AnchorError, ParagraphText, Target, Text, anchor, place
from annotations.errors import AnnotationError
from annotations.jsonld import JsonLdError, ParsedAnnotation
from annotations.live import events as live
from annotations.models import Annotation, Group, Reply
from annotations.notes.services import (
    MAX_TAG_LENGTH,
    MAX_TAGS,
    check_audience,
    check_body,
    initial_status,
    new_annotation,
    paragraph_texts,
)
from annotations.rendering import render_markdown
from reader.models import Document, Paragraph

if TYPE_CHECKING:
    from django.contrib.auth.models import User

BATCH = 1000


@dataclass
class ImportReport:
    placed: int = 0
    replies: int = 0
    already: int = 0  # in the file, and imported from it before: not added again
    orphans: list[Annotation] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # what was left out, and why

    @property
    def added(self) -> int:
        return self.placed + len(self.orphans) + self.replies


def _tags(raw: list[str]) -> list[str]:
    """Other tools allow tags ours do not: make them fit rather than refuse the file."""
    tags: list[str] = []
    for item in raw:
        tag = re.sub(r"[^\w\-.:]+", "-", item.strip().lower().lstrip("#")).strip("-")
        tag = tag[:MAX_TAG_LENGTH]
        if tag and tag not in tags:
            tags.append(tag)
    return tags[:MAX_TAGS]


@transaction.atomic
def annotations_import(
    *,
    importer: User,
    document: Document,
    raw: bytes,
    visibility: str = Annotation.Visibility.PRIVATE,
    group: Group | None = None,
) -> ImportReport:
    if not policy.can_annotate(importer):
        raise AnnotationError("Log in to import annotations.")
    if document.current_revision_id is None:
        raise AnnotationError("This document has no text to annotate yet.")
    if len(raw) > settings.ANNOTATION_IMPORT_MAX_BYTES:
        limit = settings.ANNOTATION_IMPORT_MAX_BYTES // (1024 * 1024)
        raise AnnotationError(f"The file is larger than the limit of {limit} MB.")
    group = check_audience(importer, visibility, group)
    try:
        parsed = jsonld.parse_document(raw, limit=settings.ANNOTATION_IMPORT_MAX_COUNT)
    except JsonLdError as error:
        raise AnnotationError(f"The file cannot be imported: {error}") from error
    for item in parsed:
        # Ids are kept to 500 characters: compared as stored, two alike that far are one.
        item.source_id, item.reply_to = item.source_id[:500], item.reply_to[:500]

    rows = list(
        Paragraph.objects.filter(revision_id=document.current_revision_id)
        .order_by("position")
        .values_list("key", "position", "text")
    )
    text = Text([(key, body) for key, _, body in rows])
    paragraphs = {key: ParagraphText(position, body) for key, position, body in rows}
    order = [key for key, _, _ in rows]
    status = initial_status(importer, group)
    report = ImportReport()

    # What this importer already brought onto this document, by the id it had in its file.
    known: dict[str, tuple[int, int | None]] = {}  # source id -> (annotation id, reply id)
    for source_id, pk in (
        Annotation.objects.filter(author=importer, document=document)
        .exclude(source_id="")
        .values_list("source_id", "pk")
    ):
        known[source_id] = (pk, None)
    for source_id, annotation_id, pk in (
        Reply.objects.filter(annotation__document=document, author=importer)
        .exclude(source_id="")
        .values_list("source_id", "annotation_id", "pk")
    ):
        known[source_id] = (annotation_id, pk)

    notes = [item for item in parsed if not item.is_reply]
    new_notes: list[tuple[ParsedAnnotation, Annotation]] = []
    for item in notes:
        if item.source_id in known:
            report.already += 1
            continue
        annotation = _note(item, importer, document, text, paragraphs, order, visibility, group)
        if annotation is None:
            report.skipped.append(f"{_label(item)}: nothing to keep (no words and no note).")
            continue
        annotation.status = status
        new_notes.append((item, annotation))
        known[item.source_id] = (0, None)  # a repeat later in the same file is not added twice
    created = Annotation.objects.bulk_create([a for _, a in new_notes], batch_size=BATCH)
    for (item, _), annotation in zip(new_notes, created, strict=True):
        known[item.source_id] = (annotation.pk, None)
        if annotation.kind == Annotation.Kind.ORPHAN:
            report.orphans.append(annotation)
        else:
            report.placed += 1
    _keep_dates([(item.created, a) for (item, _), a in zip(new_notes, created, strict=True)])

    report.replies = _replies(
        [item for item in parsed if item.is_reply], known, importer, report, document
    )
    # No live events: the importer's page reloads after the import, and one event per note of a
    # large file would flood every open page. Others see imported notes at their next load.
    return report


def _label(item: ParsedAnnotation) -> str:
    return f"“{item.selector.exact[:40]}”" if item.selector and item.selector.exact else "A note"


def _note(
    item: ParsedAnnotation,
    importer: User,
    document: Document,
    text: Text,
    paragraphs: dict[str, ParagraphText],
    order: list[str],
    visibility: str,
    group: Group | None,
) -> Annotation | None:
    body = check_body(item.body)
    annotation = new_annotation(
        document=document,
        author=importer,
        body=body,
        body_html=render_markdown(body) if body else "",
        tags=_tags(item.tags),
        colour=item.colour if item.colour in Annotation.Colour.values else "yellow",
        visibility=visibility,
        group=group,
        is_question=item.is_question,
        source_id=item.source_id[:500],
        source_creator=item.creator,
        start_offset=0,
        start_position=0,
        end_offset=0,
        end_position=0,
    )
    selector = item.selector
    if selector is None:
        if not body:
            return None
        annotation.kind = Annotation.Kind.DOCUMENT
    elif selector.paragraph_key and not selector.exact:
        if selector.paragraph_key not in paragraphs or not body:
            annotation.kind = Annotation.Kind.ORPHAN
        else:
            position = paragraphs[selector.paragraph_key].position
            annotation.kind = Annotation.Kind.PARAGRAPH
            annotation.start_key = annotation.end_key = selector.paragraph_key
            annotation.start_position = annotation.end_position = position
    else:
        target = place(selector, text)
        anchored = None
        if target is not None:
            try:
                anchored = anchor(target, paragraphs, order)
            except AnchorError:
                anchored = None
        if anchored is None:
            annotation.kind = Annotation.Kind.ORPHAN
            annotation.exact = selector.exact
            annotation.prefix = selector.prefix[-CONTEXT:]
            annotation.suffix = selector.suffix[:CONTEXT]
        else:
            annotation.kind = Annotation.Kind.SPAN
            for name, value in anchored.fields().items():
                setattr(annotation, name, value)
    # Field checks only: the database's constraints guard the rest, without a query per note.
    annotation.full_clean(validate_unique=False, validate_constraints=False)
    return annotation


def _replies(items, known, importer: User, report: ImportReport, document: Document) -> int:
    """Replies, in passes: a reply to a reply waits until what it answers is in."""
    pending = [item for item in items if item.source_id not in known]
    report.already += len(items) - len(pending)
    wanted = {known[item.reply_to][0] for item in pending if item.reply_to in known}
    groups = {
        annotation.pk: annotation.group
        for annotation in Annotation.objects.filter(pk__in=wanted, document=document)
        .select_related("group")
        .only("pk", "group")
    }
    added = 0
    while pending:
        ready, waiting = [], []
        for item in pending:
            (ready if item.reply_to in known else waiting).append(item)
        if not ready:
            break
        batch = []
        for item in ready:
            annotation_id, parent_id = known[item.reply_to]
            body = check_body(item.body)
            if not body:
                report.skipped.append("A reply with no text.")
                continue
            reply = Reply(
                annotation_id=annotation_id,
                parent_id=parent_id,
                author=importer,
                body=body,
                body_html=render_markdown(body),
                language=document.language,
                source_id=item.source_id[:500],
                source_creator=item.creator,
                status=initial_status(importer, groups.get(annotation_id)),
            )
            reply.full_clean(
                exclude=["annotation", "parent", "author"],
                validate_unique=False,
                validate_constraints=False,
            )
            batch.append((item, reply))
            known[item.source_id] = (annotation_id, 0)
        created = Reply.objects.bulk_create([r for _, r in batch], batch_size=BATCH)
        for (item, _), reply in zip(batch, created, strict=True):
            known[item.source_id] = (reply.annotation_id, reply.pk)
        _keep_dates([(item.created, r) for (item, _), r in zip(batch, created, strict=True)])
        added += len(created)
        pending = waiting
    for item in pending:
        report.skipped.append(
            f"A reply to {item.reply_to}, which is neither in the file nor imported before."
        )
    return added


def _keep_dates(pairs) -> None:
    """Imported things keep the date they were written, not the date of the import."""
    dated = []
    for created, obj in pairs:
        if created is not None:
            obj.created_at = created
            dated.append(obj)
    if dated:
        type(dated[0]).objects.bulk_update(dated, ["created_at"], batch_size=BATCH)


def orphans_of(user: User, document: Document):
    """The importer's orphans on a document: only ever their own."""
    if not user.is_authenticated:
        return Annotation.objects.none()
    return Annotation.objects.filter(
        Q(author=user) & ~Q(status=Annotation.Status.DELETED),
        document=document,
        kind=Annotation.Kind.ORPHAN,
    ).order_by("created_at", "id")


@transaction.atomic
def orphan_attach(*, annotation_id: int, by: User, target: Target) -> Annotation:
    """Attach an orphan to words its importer selected: it becomes an ordinary note there."""
    annotation = Annotation.objects.select_for_update(of=("self",)).get(pk=annotation_id)
    if not policy.can_edit_annotation(by, annotation):
        raise AnnotationError("Only its importer can attach this note.")
    if annotation.kind != Annotation.Kind.ORPHAN:
        raise AnnotationError("This note already has its place in the text.")
    document = Document.objects.only("current_revision").get(pk=annotation.document_id)
    texts, order = paragraph_texts(document.current_revision_id, {target.start_key, target.end_key})
    try:
        anchored = anchor(target, texts, order)
    except AnchorError as error:
        raise AnnotationError(str(error)) from error
    annotation.kind = Annotation.Kind.SPAN
    annotation.revision_id = document.current_revision_id
    for name, value in anchored.fields().items():
        setattr(annotation, name, value)
    annotation.version += 1
    annotation.full_clean()
    annotation.save()
    live.publish(change="created", annotation=annotation)
    return annotation
