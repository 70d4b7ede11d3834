"""Annotations as W3C Web Annotation JSON-LD, both ways: the one serializer and the one parser
that the API, the exports and the imports share.

Out: a note, highlight or discussion is an `Annotation` whose target is the document with a
TextQuoteSelector, a TextPositionSelector (code points of the document's whole text, its
paragraphs joined by a newline) and a selector refined to paragraph keys (a FragmentSelector
`p-<key>` refined by a TextPositionSelector inside that paragraph; a RangeSelector of two of
them when the words run over several paragraphs). A reply is an `Annotation` with motivation
`replying` whose target is the IRI of what it answers. Tags are TextualBody bodies with purpose
`tagging`; the colour is the target's `styleClass`. What the model has no term for (visibility,
group) uses the `mrg:` prefix, declared in the context.

In: `parse_document()` takes a single annotation, a list, an `AnnotationCollection` or
`AnnotationPage` (pages embedded), or what Hypothesis exports (its `annotations` or `rows`
list of its own API format), and gives back `ParsedAnnotation`s; anything it cannot read
raises `JsonLdError` naming the place, so a caller can refuse the whole file.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models.functions import Length
from django.utils.dateparse import parse_datetime

from annotations.anchoring import PARAGRAPH_SEPARATOR
from annotations.models import Annotation, Reply
from reader.models import Paragraph

CONTEXT = "http://www.w3.org/ns/anno.jsonld"
NAMESPACE = "urn:marginalia:"
CONTEXTS = [CONTEXT, {"mrg": NAMESPACE}]
MEDIA_TYPE = 'application/ld+json; profile="http://www.w3.org/ns/anno.jsonld"'
LDP_CONTAINER_TYPES = (
    "http://www.w3.org/ns/ldp#BasicContainer",
    "http://www.w3.org/ns/ldp#Resource",
)
FRAGMENT_CONFORMS_TO = "http://tools.ietf.org/rfc/rfc3986"

MOTIVATIONS = ("highlighting", "commenting", "replying", "tagging", "questioning")
# The model requires a stylesheet beside any styleClass: the colours the `c-<colour>` classes
# name, as the site shows them (static/annotations/annotations.css, light theme).
STYLESHEET = {
    "type": "CssStylesheet",
    "value": (
        ".c-yellow { background-color: #ffe98a } .c-green { background-color: #bfe8b0 } "
        ".c-blue { background-color: #bcd9ff } .c-pink { background-color: #ffc6dc } "
        ".c-purple { background-color: #dcc8ff }"
    ),
}


class Links:
    """The IRIs of things, absolute, on one site (`base` is scheme://host, no slash)."""

    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")

    def document(self, slug: str) -> str:
        return f"{self.base}/documents/{slug}/"

    def container(self, slug: str) -> str:
        return f"{self.base}/api/documents/{slug}/annotations/"

    def annotation(self, pk: int) -> str:
        return f"{self.base}/api/annotations/{pk}"

    def reply(self, pk: int) -> str:
        return f"{self.base}/api/replies/{pk}"

    def paragraph(self, slug: str, key: str) -> str:
        return f"{self.base}/documents/{slug}/p/{key}/"


class DocumentText:
    """Where each paragraph of a revision starts in the document's whole text, so offsets in a
    paragraph become offsets in the document. One query per revision, kept per export."""

    def __init__(self, revision_id: int) -> None:
        rows = (
            Paragraph.objects.filter(revision_id=revision_id)
            .order_by("position")
            .values_list("position", Length("text"))
        )
        self.starts: dict[int, int] = {}
        offset = 0
        for position, length in rows:
            self.starts[position] = offset
            offset += length + len(PARAGRAPH_SEPARATOR)

    def offset(self, position: int, offset: int) -> int:
        return self.starts.get(position, 0) + offset


class Texts(dict):
    """revision id -> DocumentText, loaded on first use."""

    def __missing__(self, revision_id: int) -> DocumentText:
        text = self[revision_id] = DocumentText(revision_id)
        return text


def _time(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.isoformat(timespec="seconds").replace("+00:00", "Z")


def _person(user, source_creator: str = "") -> dict:
    person = {"type": "Person", "nickname": user.get_username()}
    if source_creator:
        # Imported: our author is the importer; the original creator keeps their name here.
        person["name"] = source_creator
    return person


def _fragment(key: str, refined: dict | None = None) -> dict:
    selector = {"type": "FragmentSelector", "conformsTo": FRAGMENT_CONFORMS_TO, "value": f"p-{key}"}
    if refined is not None:
        selector["refinedBy"] = refined
    return selector


def _position(start: int, end: int) -> dict:
    return {"type": "TextPositionSelector", "start": start, "end": end}


def _quote(annotation: Annotation) -> dict:
    quote = {"type": "TextQuoteSelector", "exact": annotation.exact}
    if annotation.prefix:
        quote["prefix"] = annotation.prefix
    if annotation.suffix:
        quote["suffix"] = annotation.suffix
    return quote


def _target(annotation: Annotation, links: Links, texts: Texts) -> Any:
    source = links.document(annotation.document.slug)
    kind = annotation.kind
    if kind == Annotation.Kind.DOCUMENT:
        return source
    if kind == Annotation.Kind.PARAGRAPH:
        return {
            "type": "SpecificResource",
            "source": source,
            "selector": _fragment(annotation.start_key),
        }
    if kind == Annotation.Kind.ORPHAN:
        return {"type": "SpecificResource", "source": source, "selector": _quote(annotation)}
    text = texts[annotation.revision_id]
    start = text.offset(annotation.start_position, annotation.start_offset)
    end = text.offset(annotation.end_position, annotation.end_offset)
    if annotation.start_key == annotation.end_key:
        in_paragraphs = _fragment(
            annotation.start_key, _position(annotation.start_offset, annotation.end_offset)
        )
    else:
        in_paragraphs = {
            "type": "RangeSelector",
            "startSelector": _fragment(
                annotation.start_key, _position(annotation.start_offset, annotation.start_offset)
            ),
            "endSelector": _fragment(
                annotation.end_key, _position(annotation.end_offset, annotation.end_offset)
            ),
        }
    return {
        "type": "SpecificResource",
        "source": source,
        "selector": [_quote(annotation), _position(start, end), in_paragraphs],
        "styleClass": f"c-{annotation.colour}",
    }


def motivation_of(annotation: Annotation) -> str:
    if annotation.is_question:
        return "questioning"
    if annotation.body:
        return "commenting"
    if annotation.tags:
        return "tagging"
    return "highlighting"


def _bodies(body: str, tags: Iterable[str]) -> list[dict]:
    bodies = []
    if body:
        bodies.append(
            {
                "type": "TextualBody",
                "value": body,
                "format": "text/markdown",
                "purpose": "commenting",
            }
        )
    bodies.extend({"type": "TextualBody", "value": tag, "purpose": "tagging"} for tag in tags)
    return bodies


def annotation_to_jsonld(
    annotation: Annotation, *, links: Links, texts: Texts | None = None, context: bool = True
) -> dict:
    """`annotation` with its document, author and group loaded (select_related)."""
    data: dict[str, Any] = {"@context": CONTEXTS} if context else {}
    data.update(
        {
            "id": links.annotation(annotation.pk),
            "type": "Annotation",
            "motivation": motivation_of(annotation),
            "created": _time(annotation.created_at),
            "modified": _time(annotation.updated_at),
            "creator": _person(annotation.author, annotation.source_creator),
        }
    )
    bodies = _bodies(annotation.body, annotation.tags)
    if bodies:
        data["body"] = bodies if len(bodies) > 1 else bodies[0]
    data["target"] = _target(annotation, links, texts if texts is not None else Texts())
    if isinstance(data["target"], dict) and "styleClass" in data["target"]:
        data["stylesheet"] = STYLESHEET
    data["mrg:visibility"] = annotation.visibility
    if annotation.group_id:
        data["mrg:group"] = annotation.group.slug
    if annotation.status != Annotation.Status.ACTIVE:
        data["mrg:status"] = annotation.status
    return data


def reply_to_jsonld(reply: Reply, *, links: Links, context: bool = True) -> dict:
    """`reply` with its author loaded. Its target is what it answers: a reply or the note."""
    answered = (
        links.reply(reply.parent_id) if reply.parent_id else links.annotation(reply.annotation_id)
    )
    data: dict[str, Any] = {"@context": CONTEXTS} if context else {}
    data.update(
        {
            "id": links.reply(reply.pk),
            "type": "Annotation",
            "motivation": "replying",
            "created": _time(reply.created_at),
            "modified": _time(reply.edited_at or reply.created_at),
            "creator": _person(reply.author, reply.source_creator),
            "body": _bodies(reply.body, [])[0],
            "target": answered,
        }
    )
    if reply.status != Annotation.Status.ACTIVE:
        data["mrg:status"] = reply.status
    return data


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


# Parsing -------------------------------------------------------------------------------------


class JsonLdError(ValueError):
    """Input that is not an annotation we can read; str(exc) says where and why."""


@dataclass
class ParsedSelector:
    exact: str = ""
    prefix: str = ""
    suffix: str = ""
    # In the document's whole text, as TextPositionSelector counts.
    start: int | None = None
    end: int | None = None
    # Refined to paragraphs: (key, offset) at each end, or a whole paragraph.
    start_key: str = ""
    start_offset: int | None = None
    end_key: str = ""
    end_offset: int | None = None
    paragraph_key: str = ""
    colour: str = ""  # from the target's styleClass "c-<colour>"


@dataclass
class ParsedAnnotation:
    source_id: str
    motivation: str = "commenting"
    body: str = ""
    tags: list[str] = field(default_factory=list)
    selector: ParsedSelector | None = None
    # An annotation with motivation "replying": the IRI (or id) it answers.
    reply_to: str = ""
    creator: str = ""
    created: datetime | None = None
    colour: str = ""
    visibility: str = ""
    group: str = ""

    @property
    def is_reply(self) -> bool:
        return bool(self.reply_to)

    @property
    def is_question(self) -> bool:
        return self.motivation == "questioning"


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _text(value: Any, where: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise JsonLdError(f"{where} must be a string.")
    if "\x00" in value:
        # PostgreSQL cannot store it; caught here, it is a message instead of a server error.
        raise JsonLdError(f"{where} must not contain the NUL character (\\u0000).")
    return value


def _int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise JsonLdError(f"{where} must be a whole number, zero or more.")
    return value


def _iri(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        found = (value.get(key) for key in ("id", "@id", "source"))
        return next((iri for iri in found if isinstance(iri, str) and iri), "")
    return ""


def _key_of(fragment: dict, where: str) -> str:
    value = _text(fragment.get("value"), f"{where}.value")
    match = re.fullmatch(r"(?:#)?p-([\w-]{1,24})", value)
    if match is None:
        raise JsonLdError(f"{where}: a FragmentSelector here names a paragraph as 'p-<key>'.")
    return match.group(1)


def _read_selector(raw: Any, selector: ParsedSelector, where: str) -> None:
    if not isinstance(raw, dict):
        raise JsonLdError(f"{where} must be an object.")
    kind = raw.get("type")
    if kind == "TextQuoteSelector":
        selector.exact = _text(raw.get("exact"), f"{where}.exact")
        if not selector.exact:
            raise JsonLdError(f"{where}: a TextQuoteSelector needs its 'exact' text.")
        selector.prefix = _text(raw.get("prefix"), f"{where}.prefix")
        selector.suffix = _text(raw.get("suffix"), f"{where}.suffix")
    elif kind == "TextPositionSelector":
        selector.start = _int(raw.get("start"), f"{where}.start")
        selector.end = _int(raw.get("end"), f"{where}.end")
    elif kind == "FragmentSelector":
        key = _key_of(raw, where)
        refined = raw.get("refinedBy")
        if isinstance(refined, dict) and refined.get("type") == "TextPositionSelector":
            selector.start_key = selector.end_key = key
            selector.start_offset = _int(refined.get("start"), f"{where}.refinedBy.start")
            selector.end_offset = _int(refined.get("end"), f"{where}.refinedBy.end")
        else:
            selector.paragraph_key = key
    elif kind == "RangeSelector":
        ends = []
        for side in ("startSelector", "endSelector"):
            part = raw.get(side)
            if not isinstance(part, dict) or part.get("type") != "FragmentSelector":
                # Another tool's range (XPath, CSS): the quote and position place it instead.
                return
            refined = part.get("refinedBy")
            if not isinstance(refined, dict) or refined.get("type") != "TextPositionSelector":
                return
            ends.append(
                (_key_of(part, f"{where}.{side}"), _int(refined.get("start"), f"{where}.{side}"))
            )
        (selector.start_key, selector.start_offset), (selector.end_key, selector.end_offset) = ends
    # Other selector types (XPath, CSS, SVG...) name places in other kinds of documents: the
    # quote and position selectors beside them are what places an annotation here.


def _read_target(raw: Any, where: str) -> tuple[ParsedSelector | None, str]:
    """(selector, answered IRI). A target with no selector is the document itself, or for a
    reply, the annotation it answers."""
    targets = _as_list(raw)
    if not targets:
        raise JsonLdError(f"{where}: an annotation needs a target.")
    first = targets[0]
    if isinstance(first, str):
        return None, first
    if not isinstance(first, dict):
        raise JsonLdError(f"{where} must be an IRI or an object.")
    selectors = _as_list(first.get("selector"))
    if not selectors:
        return None, _iri(first)
    selector = ParsedSelector()
    for index, raw_selector in enumerate(selectors):
        _read_selector(raw_selector, selector, f"{where}.selector[{index}]")
    style = first.get("styleClass")
    if isinstance(style, str) and style.startswith("c-"):
        selector.colour = style[2:]
    if not (selector.exact or selector.paragraph_key or selector.start_key):
        raise JsonLdError(
            f"{where}: the target has no TextQuoteSelector, so its words cannot be found."
        )
    return selector, _iri(first)


def _fallback_id(data: dict) -> str:
    """An id for an annotation that came without one: the same content gives the same id, so
    importing the same file twice still adds nothing twice."""
    digest = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
    return f"urn:sha256:{digest}"


def parse_annotation(data: Any, where: str = "annotation") -> ParsedAnnotation:
    """One W3C annotation (JSON-LD, compacted with the anno.jsonld context)."""
    if not isinstance(data, dict):
        raise JsonLdError(f"{where} must be a JSON object.")
    types = _as_list(data.get("type") or data.get("@type"))
    if "Annotation" not in types and "oa:Annotation" not in types:
        raise JsonLdError(f"{where}: 'type' must be 'Annotation'.")
    source_id = _text(data.get("id") or data.get("@id"), f"{where}.id") or _fallback_id(data)
    motivations = [m for m in _as_list(data.get("motivation")) if isinstance(m, str)]
    motivation = next((m for m in motivations if m in MOTIVATIONS), "")
    body_text, tags = "", []
    for index, body in enumerate(_as_list(data.get("body"))):
        here = f"{where}.body[{index}]"
        if isinstance(body, str):
            continue  # a body by reference (an IRI): nothing we can show
        if not isinstance(body, dict):
            raise JsonLdError(f"{here} must be an object.")
        value = _text(body.get("value", body.get("chars")), f"{here}.value")
        if body.get("purpose") == "tagging":
            if value.strip():
                tags.append(value.strip())
        elif value and not body_text:
            body_text = value
    if "bodyValue" in data:
        body_text = body_text or _text(data["bodyValue"], f"{where}.bodyValue")
    selector, answered = _read_target(data.get("target"), f"{where}.target")
    parsed = ParsedAnnotation(
        source_id=source_id,
        motivation=motivation or ("commenting" if body_text else "highlighting"),
        body=body_text,
        tags=tags,
        selector=selector,
        creator=_creator_name(data.get("creator")),
        created=_date(data.get("created")),
        visibility=_text(data.get("mrg:visibility"), f"{where}.mrg:visibility"),
        group=_text(data.get("mrg:group"), f"{where}.mrg:group"),
    )
    if selector is not None:
        parsed.colour = selector.colour
    if parsed.motivation == "replying":
        if selector is not None or not answered:
            raise JsonLdError(f"{where}: a reply's target is the IRI of what it answers.")
        if not body_text.strip():
            # As for Hypothesis below: a reply with nothing in it is a broken file, not a reply.
            raise JsonLdError(f"{where}: a reply has no text.")
        parsed.reply_to = answered
    return parsed


def _creator_name(raw: Any) -> str:
    creator = _as_list(raw)[:1]
    if not creator:
        return ""
    person = creator[0]
    if isinstance(person, dict):
        person = person.get("name") or person.get("nickname") or person.get("id") or ""
    # Only a name to show beside the note: a NUL (which PostgreSQL cannot store) is dropped.
    return person.replace("\x00", "")[:200] if isinstance(person, str) else ""


def _date(raw: Any) -> datetime | None:
    if not isinstance(raw, str):
        return None
    try:
        return parse_datetime(raw)
    except ValueError:
        return None


def parse_hypothesis(data: Any, where: str) -> ParsedAnnotation:
    """One annotation in Hypothesis's own API format (what its export and API give)."""
    if not isinstance(data, dict):
        raise JsonLdError(f"{where} must be a JSON object.")
    source_id = _text(data.get("id"), f"{where}.id") or _fallback_id(data)
    text = _text(data.get("text"), f"{where}.text")
    tags = [tag for tag in _as_list(data.get("tags")) if isinstance(tag, str) and tag.strip()]
    references = [ref for ref in _as_list(data.get("references")) if isinstance(ref, str)]
    info = data.get("user_info")
    user = info.get("display_name") if isinstance(info, dict) else None
    if not isinstance(user, str) or not user.strip():
        user = _text(data.get("user"), f"{where}.user").removeprefix("acct:")
    parsed = ParsedAnnotation(
        source_id=source_id,
        body=text,
        tags=tags,
        creator=user.replace("\x00", "")[:200],
        created=_date(data.get("created")),
    )
    if references:
        if not text.strip():
            raise JsonLdError(f"{where}: a reply has no text.")
        parsed.motivation, parsed.reply_to = "replying", references[-1]
        return parsed
    targets = _as_list(data.get("target"))
    selectors = (
        _as_list(targets[0].get("selector")) if targets and isinstance(targets[0], dict) else []
    )
    if selectors:
        selector = ParsedSelector()
        for index, raw in enumerate(selectors):
            _read_selector(raw, selector, f"{where}.target[0].selector[{index}]")
        if not selector.exact:
            raise JsonLdError(f"{where}: the target has no quote, so its words cannot be found.")
        parsed.selector = selector
        parsed.motivation = "commenting" if text else ("tagging" if tags else "highlighting")
    else:
        # A page note: on the whole document.
        if not text.strip():
            raise JsonLdError(f"{where}: a page note has no text.")
        parsed.motivation = "commenting"
    return parsed


def _items(data: Any, where: str) -> Iterable[tuple[Any, str, bool]]:
    """(item, where, is_hypothesis) for each annotation in any shape we accept."""
    if isinstance(data, list):
        for index, item in enumerate(data):
            yield from _items(item, f"{where}[{index}]")
        return
    if not isinstance(data, dict):
        raise JsonLdError(f"{where}: expected a JSON object or list of annotations.")
    types = _as_list(data.get("type"))
    if "AnnotationCollection" in types:
        first = data.get("first")
        page_number = 0
        while isinstance(first, dict):
            yield from _items(first, f"{where}.first" + ".next" * page_number)
            first, page_number = first.get("next"), page_number + 1
        if isinstance(first, str):
            raise JsonLdError(
                f"{where}: the collection's pages are not embedded in the file; export it with "
                "its items included."
            )
        return
    if "AnnotationPage" in types:
        for index, item in enumerate(_as_list(data.get("items"))):
            yield item, f"{where}.items[{index}]", False
        return
    if "Annotation" in types:
        yield data, where, False
        return
    for key in ("annotations", "rows"):  # Hypothesis: its export file, or a search result
        if isinstance(data.get(key), list):
            for index, item in enumerate(data[key]):
                yield item, f"{where}.{key}[{index}]", True
            return
    raise JsonLdError(
        f"{where}: not a Web Annotation (no 'type' of Annotation, AnnotationCollection or "
        "AnnotationPage) nor a Hypothesis export."
    )


def parse_document(raw: bytes | str, *, limit: int) -> list[ParsedAnnotation]:
    """Every annotation in a file, or JsonLdError for the first thing wrong in it."""
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise JsonLdError(f"The file is not valid JSON: {error}.") from error
    except RecursionError as error:
        raise JsonLdError("The file nests its JSON too deeply to be read.") from error
    parsed: list[ParsedAnnotation] = []
    try:
        for item, where, hypothesis in _items(data, "file"):
            parsed.append(
                parse_hypothesis(item, where) if hypothesis else parse_annotation(item, where)
            )
            if len(parsed) > limit:
                raise JsonLdError(f"The file holds more than {limit:,} annotations; split it.")
    except RecursionError as error:  # lists in lists in lists...
        raise JsonLdError("The file nests its lists too deeply to be read.") from error
    if not parsed:
        raise JsonLdError("The file holds no annotations.")
    return parsed
