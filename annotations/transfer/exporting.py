"""Exports: a reader's notes, a document's, or a group's, as Markdown, CSV or W3C JSON-LD.

Every export is a stream of text chunks, built a batch of notes at a time (keyset paging: each
batch is one query for the notes and one for their replies), so memory does not grow with the
size of the export. What goes in is what the policy lets the reader see: notes through
`Annotation.objects.visible_to`, replies through `Reply.objects.visible_to`.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings
from django.db.models import BooleanField, F, Func, Value
from django.utils import timezone

from annotations import jsonld
from annotations.models import Annotation, Group, Reply
from reader.models import Document

BATCH = 500
FORMATS = {
    "md": "text/markdown; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "jsonld": jsonld.MEDIA_TYPE,
}
ORDER = ("document_id", "start_position", "start_offset", "id")


@dataclass(frozen=True)
class Scope:
    kind: str  # "mine", "document" or "group"
    document: Document | None = None
    group: Group | None = None

    def label(self, user) -> str:
        if self.kind == "document":
            return f"Notes on {self.document.title}"
        if self.kind == "group":
            return f"Notes of the group {self.group.name}"
        return f"Notes by {user.get_username()}"

    def filename(self) -> str:
        if self.kind == "document":
            return f"{self.document.slug}-notes"
        if self.kind == "group":
            return f"{self.group.slug}-notes"
        return "my-notes"


def notes(user, scope: Scope):
    queryset = Annotation.objects.visible_to(user)
    if scope.kind == "document":
        queryset = queryset.filter(document=scope.document)
    elif scope.kind == "group":
        queryset = queryset.filter(group=scope.group)
    else:
        queryset = queryset.filter(author_id=user.pk)
    return queryset


class _RowAfter(Func):
    """`(a, b, c, d) > (x, y, z, w)`: rows after a place in ORDER, compared as one row value,
    which PostgreSQL answers by starting an index scan there. (The same test spelled out as
    `a > x OR (a = x AND ...)` made it walk the index from the start at every batch: a
    100,000-note export slowed down as it went, 25x the time of 10,000 notes.)"""

    output_field = BooleanField()

    def __init__(self, values: tuple):
        super().__init__(*(F(name) for name in ORDER), *(Value(v) for v in values))

    def as_sql(self, compiler, connection, **extra):
        parts, params = [], []
        for expression in self.get_source_expressions():
            sql, found = compiler.compile(expression)
            parts.append(sql)
            params.extend(found)
        half = len(parts) // 2
        return f"({', '.join(parts[:half])}) > ({', '.join(parts[half:])})", params


def batches(user, scope: Scope) -> Iterator[tuple[list[Annotation], dict[int, list[Reply]]]]:
    """(notes, replies by note id) a batch at a time, in reading order."""
    base = (
        notes(user, scope)
        .select_related("document", "author", "group")
        .defer("body_html", "search", "document__paragraph_count")
        .order_by(*ORDER)
    )
    last = None
    while True:
        page = list((base.filter(_RowAfter(last)) if last else base)[:BATCH])
        if not page:
            return
        replies: dict[int, list[Reply]] = defaultdict(list)
        for reply in (
            Reply.objects.visible_to(user)
            .filter(annotation_id__in=[a.pk for a in page])
            .select_related("author")
            .defer("body_html", "search")
            .order_by("annotation_id", "created_at", "id")
        ):
            replies[reply.annotation_id].append(reply)
        yield page, replies
        tail = page[-1]
        last = (tail.document_id, tail.start_position, tail.start_offset, tail.pk)


def stream(*, user, scope: Scope, fmt: str, base_url: str) -> Iterator[str]:
    links = jsonld.Links(base_url)
    if fmt == "md":
        return _markdown(user, scope, links)
    if fmt == "csv":
        return _csv(user, scope, links)
    if fmt == "jsonld":
        return _jsonld(user, scope, links)
    raise ValueError(f"Unknown export format {fmt!r}")


# Markdown ------------------------------------------------------------------------------------

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|])")


def _escape(text: str) -> str:
    """Document text shown as text in Markdown: its own * _ [ ] < > do nothing."""
    text = _MARKDOWN_SPECIAL.sub(r"\\\1", text)
    # A line that starts like a heading, a list item, a rule or a setext underline.
    text = re.sub(r"^(\s*)([#+\-=])", r"\1\\\2", text, flags=re.MULTILINE)
    # "1. " starts an ordered list; the escape goes before its dot ("\1." shows a backslash).
    return re.sub(r"^(\s*\d+)([.)])(\s|$)", r"\1\\\2\3", text, flags=re.MULTILINE)


def _front_matter(fields: dict) -> str:
    # JSON strings are valid YAML scalars: any title, quotes and colons included, is safe.
    lines = [f"{name}: {json.dumps(value, ensure_ascii=False)}" for name, value in fields.items()]
    return "---\n" + "\n".join(lines) + "\n---\n"


def _indent(text: str, prefix: str) -> str:
    return "\n".join(prefix + line if line else prefix.rstrip() for line in text.splitlines())


def _thread_md(replies: list[Reply]) -> str:
    children: dict[int | None, list[Reply]] = defaultdict(list)
    ids = {reply.pk for reply in replies}
    for reply in replies:
        # A reply whose parent the reader may not see hangs from the note, not nowhere.
        children[reply.parent_id if reply.parent_id in ids else None].append(reply)
    lines: list[str] = []
    # Walked with a stack, not recursion, however long a chain of replies. Replies stored deeper
    # than the nesting cap (before it, or imported) are indented as at the cap, so a long chain
    # does not make the export grow with the square of its length.
    deepest = max(settings.REPLY_MAX_DEPTH, 1) - 1
    stack: list[tuple[Reply, int]] = [(reply, 0) for reply in reversed(children[None])]
    while stack:
        reply, depth = stack.pop()
        pad = "  " * min(depth, deepest)
        head = f"{pad}- **{reply.author.get_username()}** ({reply.created_at:%Y-%m-%d}):"
        if reply.status == Annotation.Status.DELETED:
            lines.append(f"{head} [deleted]")
        else:
            body = reply.body.strip().splitlines() or [""]
            lines.append(f"{head} {body[0]}")
            lines.extend(f"{pad}  {line}" if line else "" for line in body[1:])
        stack.extend((child, depth + 1) for child in reversed(children.get(reply.pk, [])))
    return "\n".join(lines)


def _note_md(note: Annotation, replies: list[Reply], links: jsonld.Links) -> str:
    document = note.document
    parts = []
    where = ""
    if note.kind in (Annotation.Kind.SPAN, Annotation.Kind.PARAGRAPH):
        url = links.paragraph(document.slug, note.start_key)
        where = f"[¶{note.start_position + 1}]({url})"
    if note.exact:
        quote = _indent(_escape(note.exact), "> ")
        parts.append(f"{quote}\n>\n> — {where}" if where else quote)
    elif where:
        parts.append(f"On the paragraph {where}")
    else:
        parts.append("On the whole document")
    who = note.author.get_username()
    if note.source_creator:
        who += f", imported from {note.source_creator}"
    meta = f"*{who}, {note.created_at:%Y-%m-%d}"
    if note.is_question:
        meta += ", a question"
    parts.append(meta + "*")
    if note.body:
        parts.append(note.body.strip())
    if note.tags:
        parts.append(" ".join(f"#{tag}" for tag in note.tags))
    if replies:
        parts.append(_thread_md(replies))
    return "\n\n".join(parts) + "\n\n---\n\n"


def _document_heading(document: Document, links: jsonld.Links) -> str:
    lines = [f"## {_escape(document.title)}", ""]
    if document.author:
        lines.append(f"By {_escape(document.author)}. ")
    lines.append(f"<{links.document(document.slug)}>")
    return "\n".join(lines) + "\n\n"


def _markdown(user, scope: Scope, links: jsonld.Links) -> Iterator[str]:
    now = timezone.now()
    if scope.kind == "document":
        document = scope.document
        yield _front_matter(
            {
                "title": document.title,
                "author": document.author,
                "source": document.source or links.document(document.slug),
                "url": links.document(document.slug),
                "exported": now.isoformat(timespec="seconds"),
                "exported_by": user.get_username(),
            }
        )
        yield f"\n# {_escape(scope.label(user))}\n\n"
    else:
        yield _front_matter(
            {
                "title": scope.label(user),
                "exported": now.isoformat(timespec="seconds"),
                "exported_by": user.get_username(),
            }
        )
        yield f"\n# {_escape(scope.label(user))}\n\n"
    current = None
    for page, replies in batches(user, scope):
        out = []
        for note in page:
            if scope.kind != "document" and note.document_id != current:
                current = note.document_id
                out.append(_document_heading(note.document, links))
            out.append(_note_md(note, replies.get(note.pk, []), links))
        yield "".join(out)


# CSV -----------------------------------------------------------------------------------------

CSV_COLUMNS = [
    "id",
    "type",
    "note_id",
    "parent_id",
    "document",
    "paragraph",
    "paragraph_url",
    "quote",
    "body",
    "tags",
    "visibility",
    "group",
    "author",
    "created",
    "modified",
    "status",
]


def _cell(value: str) -> str:
    """A spreadsheet runs a cell that starts with = + - @ as a formula: keep it text."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _kind(note: Annotation) -> str:
    if note.kind in (Annotation.Kind.PARAGRAPH, Annotation.Kind.DOCUMENT):
        return "discussion"
    if note.kind == Annotation.Kind.ORPHAN:
        return "orphan"
    return "note" if note.body else "highlight"


def _csv(user, scope: Scope, links: jsonld.Links) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    yield buffer.getvalue()
    for page, replies in batches(user, scope):
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        for note in page:
            slug = note.document.slug
            url = links.paragraph(slug, note.start_key) if note.start_key else ""
            writer.writerow(
                [
                    note.pk,
                    _kind(note),
                    note.pk,
                    "",
                    slug,
                    note.start_position + 1 if note.start_key else "",
                    url,
                    _cell(note.exact),
                    _cell(note.body),
                    _cell(",".join(note.tags)),
                    note.visibility,
                    note.group.slug if note.group_id else "",
                    _cell(note.author.get_username()),
                    note.created_at.isoformat(),
                    note.updated_at.isoformat(),
                    note.status,
                ]
            )
            for reply in replies.get(note.pk, []):
                deleted = reply.status == Annotation.Status.DELETED
                writer.writerow(
                    [
                        reply.pk,
                        "reply",
                        note.pk,
                        reply.parent_id or "",
                        slug,
                        note.start_position + 1 if note.start_key else "",
                        url,
                        "",
                        "" if deleted else _cell(reply.body),
                        "",
                        note.visibility,
                        note.group.slug if note.group_id else "",
                        _cell(reply.author.get_username()),
                        reply.created_at.isoformat(),
                        (reply.edited_at or reply.created_at).isoformat(),
                        reply.status,
                    ]
                )
        yield buffer.getvalue()


# JSON-LD -------------------------------------------------------------------------------------


def _jsonld(user, scope: Scope, links: jsonld.Links) -> Iterator[str]:
    head = {
        "@context": jsonld.CONTEXTS,
        "id": f"{links.base}/exports/{scope.filename()}",
        "type": "AnnotationCollection",
        "label": scope.label(user),
        "generated": timezone.now().isoformat(timespec="seconds").replace("+00:00", "Z"),
    }
    # The collection with its one page embedded, written as it goes: `{...,"first":{...,"items":[`
    # then the items, then the closing brackets.
    opening = jsonld.dumps(head)[:-1]
    first_page = jsonld.dumps({"id": f"{head['id']}?page=0", "type": "AnnotationPage"})[:-1]
    yield opening + ',"first":' + first_page + ',"items":['
    texts = jsonld.Texts()
    first = True
    for page, replies in batches(user, scope):
        items = []
        for note in page:
            items.append(jsonld.annotation_to_jsonld(note, links=links, texts=texts, context=False))
            for reply in replies.get(note.pk, []):
                if reply.status != Annotation.Status.DELETED:
                    items.append(jsonld.reply_to_jsonld(reply, links=links, context=False))
        if items:
            chunk = ",".join(jsonld.dumps(item) for item in items)
            yield chunk if first else "," + chunk
            first = False
    yield "]}}"
