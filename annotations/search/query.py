"""Full-text search over what a reader may read: documents' text, and the notes and replies
annotations.policy lets them see. PostgreSQL does the work; there is no other search engine.

How a search runs: at most 7 queries (one more for each of a document and a group filter, and
one that chooses the snapshot), however many rows match.

1. The words. One query asks PostgreSQL what `websearch_to_tsquery` makes of the words in each
   text-search configuration in scope: the languages documents are in, or the chosen
   document's. Configurations where the words leave nothing to look for (only stop words, or
   only `-word`) are dropped; if none is left the search is refused with a message, rather
   than read the whole index for "everything without this word". Configurations that make the
   same tsquery share one arm of the match.
2. The match. Each row carries its own `language`, so a row matches when, for one arm,
   `language = ANY(<the arm's configurations>) AND search @@ <the arm's constant tsquery>`.
   PostgreSQL answers the OR with one GIN bitmap scan per arm (BitmapOr); a tsquery computed
   per row from its language could not use the index. `ts_rank` uses the same constant
   tsqueries (a CASE on the language), normalised by length (option 1) so that a long
   paragraph does not outrank a short note by repeating a word. A document or group filter on
   notes is part of the same match: a note's search vector holds its document and group as
   lexemes no text makes (annotations.models.ScopeLexemes), so `search @@ (words && '§d3')` is
   one GIN lookup intersecting two posting lists, where `document_id = 3` beside it made
   PostgreSQL build and AND two bitmaps of ~85,000 rows each (1,000,000 notes).
3. Candidates, one query per kind: the first CANDIDATES rows the viewer may see, in the order the
   index yields them, each with its rank — no sort over every match, each row read once. The
   policy's querysets do the filtering (`Annotation.objects.visible_to`,
   `Reply.objects.visible_to`), so what the viewer may not see is neither returned nor counted.
   A kind's count is its number of candidates, so it stops at COUNT_CAP ("200+"), and for
   words found in more rows than that the ranking is over the first CANDIDATES the index gave
   (in table order, not the best of all matches): the price of a bounded answer time. The work
   grows with CANDIDATES, not with the table: with 1,000,000 annotations, 1,000 candidates per
   kind cost ~20,000 buffer visits for a common word, 200 cost ~4,500 (EXPLAIN BUFFERS), hence
   200. Below the cap, counts and ranking are exact.
   Replies are found in two steps (see _reply_candidates): their first REPLY_SCAN matches,
   whoever may see them, then the policy over those; a count that stops there is a floor too.
4. The kinds are merged by rank in Python (at most 3 x CANDIDATES rows) and the page is cut from
   the merged list; `total` is the sum of the kinds' counts.
5. The page's rows: their details and snippets, one query per kind on the page, in the same
   snapshot as the candidates (one read-only, repeatable-read transaction). `ts_headline`
   runs only on those rows, over text escaped in SQL (& < > "), with matches wrapped in two
   private-use characters (removed from the text first, so nobody can forge them) that become
   <mark> in Python, where any < or > left is escaped again: the only markup in a snippet is
   <mark>.

Visibility is never decided here: every row and count comes through the policy's querysets.
"""

from __future__ import annotations

import functools
import operator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import NamedTuple

from django.contrib.auth import get_user_model
from django.contrib.postgres.expressions import ArraySubquery
from django.contrib.postgres.search import SearchHeadline, SearchQueryField, SearchRank
from django.contrib.postgres.search import SearchQuery as TsQuery
from django.db import connection, transaction
from django.db.models import (
    BooleanField,
    Case,
    F,
    Func,
    IntegerField,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
    When,
)
from django.db.models.expressions import RawSQL
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from annotations.models import Annotation, Group, InScope, Reply, note_words
from reader.models import Document, Paragraph

KINDS = ("all", "notes", "replies", "text")
COUNT_CAP = 200
CANDIDATES = COUNT_CAP + 1  # one more than the cap tells "200" from "200+"
# Replies: how many matching ones (whoever may see them) are looked at, at most.
REPLY_SCAN = 5 * COUNT_CAP
MAX_PER_PAGE = 100
# ts_rank normalisation 1: rank / (1 + log(length)).
RANK_NORMALISATION = 1
# Private-use characters: never meaningful in a text, removed from it before ts_headline.
START, STOP = "\ue000", "\ue001"
_KIND_ORDER = {"note": 0, "reply": 1, "paragraph": 2}


class SearchError(ValueError):
    """A search that cannot run as asked; str(exc) is the message for the reader."""


@dataclass(frozen=True)
class SearchQuery:
    """What a reader asked for: words in web-search syntax, and filters (empty = any)."""

    q: str
    document: str = ""  # slug
    group: str = ""  # slug
    author: str = ""  # username
    tag: str = ""
    kind: str = "all"  # all, notes, replies, text (the documents' paragraphs)
    since: date | None = None
    until: date | None = None

    @property
    def dated(self) -> bool:
        return self.since is not None or self.until is not None

    @property
    def wants_text(self) -> bool:
        """Paragraphs have no author, group, tag or date: any of those filters leaves them out."""
        return (
            self.kind in ("all", "text")
            and not (self.group or self.author or self.tag)
            and not self.dated
        )

    @property
    def wants_notes(self) -> bool:
        return self.kind in ("all", "notes")

    @property
    def wants_replies(self) -> bool:
        return self.kind in ("all", "replies")


@dataclass(frozen=True)
class Result:
    kind: str  # paragraph, note, reply
    document_slug: str
    document_title: str
    paragraph_key: str  # "" for a discussion of the whole document or a note not placed
    paragraph_number: int | None  # as shown in the margin (from 1); None with no paragraph
    annotation_id: int | None  # the note (for a reply: its thread's note)
    reply_id: int | None
    author: str  # username, "" for a paragraph
    created_at: datetime | None  # None for a paragraph
    snippet_html: SafeString
    rank: float
    url: str
    status: str = "active"  # hidden or pending: shown so to its author and moderators


@dataclass(frozen=True)
class SearchPage:
    results: list[Result]
    total: int  # matches the viewer may see, each kind counted up to COUNT_CAP
    page: int
    per_page: int
    has_next: bool
    # Some kind had more than COUNT_CAP matches, or more replies matched than were looked at:
    # total is a lower bound.
    capped: bool = False

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def total_display(self) -> str:
        return f"{self.total:,}+" if self.capped else f"{self.total:,}"


class _Hit(NamedTuple):
    """A ranked row, before the page's details. (A tuple: a search makes up to 600.)"""

    kind: str
    pk: int
    rank: float


# The words ------------------------------------------------------------------------------------


_WORDS = (
    "SELECT cfg, tsq::text, querytree(tsq) FROM {scope} AS scope(cfg),"
    " LATERAL websearch_to_tsquery(cfg::regconfig, %s) AS tsq"
)
# The configurations in scope: the chosen document's, or those of every document (each row
# carries its document's language).
_ONE_LANGUAGE = _WORDS.format(scope="(SELECT %s)")
_LANGUAGES_IN_USE = _WORDS.format(scope="(SELECT DISTINCT language FROM reader_document)")


def _arms(q: str, config: str | None) -> list[tuple[str, list[str]]] | None:
    """For each distinct tsquery the words make in the configurations in scope (`config`, or
    every language documents are in), one configuration making it and all of them; only those
    with something to look for in an index. None when no configuration is in scope at all."""
    with connection.cursor() as cursor:
        if config:
            cursor.execute(_ONE_LANGUAGE, [config, q])
        else:
            cursor.execute(_LANGUAGES_IN_USE, [q])
        rows = cursor.fetchall()
    if not rows:
        return None
    arms: dict[str, list[str]] = {}
    for cfg, tsquery, tree in rows:
        if tree in ("", "T"):  # nothing but stop words, or nothing but exclusions
            continue
        arms.setdefault(tsquery, []).append(cfg)
    return [(cfgs[0], sorted(cfgs)) for cfgs in arms.values()]


class _EqualsAny(Func):
    """`expression = ANY(array)`."""

    template = "%(expressions)s)"
    arg_joiner = " = ANY("
    output_field = BooleanField()


class _InConfigs(Func):
    """`language = ANY(<names>::regconfig[])`. (`language__in` compares a one-name list as an
    oid, which PostgreSQL refuses.)"""

    template = "%(expressions)s::regconfig[])"
    arg_joiner = " = ANY("
    output_field = BooleanField()


def _match(q: str, arms: list[tuple[str, list[str]]], scope: InScope | None = None) -> Q:
    """The words, in the row's language; and the scope lexemes `scope` too (notes only)."""
    return functools.reduce(
        operator.or_,
        (
            Q(
                _InConfigs(F("language"), Value(cfgs)),
                search=_arm_query(q, cfg) if scope is None else _arm_query(q, cfg) & scope,
            )
            for cfg, cfgs in arms
        ),
    )


def _arm_query(q: str, config: str) -> TsQuery:
    return TsQuery(q, config=config, search_type="websearch")


def _day_range(query: SearchQuery) -> Q:
    """since..until as whole days in the site's time zone."""
    zone = timezone.get_current_timezone()
    bounds = Q()
    if query.since is not None:
        bounds &= Q(created_at__gte=datetime.combine(query.since, time.min, tzinfo=zone))
    if query.until is not None:
        end = query.until + timedelta(days=1)
        bounds &= Q(created_at__lt=datetime.combine(end, time.min, tzinfo=zone))
    return bounds


# One kind at a time ---------------------------------------------------------------------------


def _notes(user, query: SearchQuery, match: Q) -> QuerySet:
    """The notes matching; a document or group filter is part of `match` (its scope lexemes)."""
    notes = Annotation.objects.visible_to(user).filter(match)
    if query.author:
        notes = notes.filter(author_id=Subquery(_user_id(query.author)))
    if query.tag:
        notes = notes.filter(tags__contains=[query.tag])
    return notes.filter(_day_range(query))


def _replies(
    query: SearchQuery, match: Q, document_id: int | None, group_id: int | None
) -> tuple[QuerySet, Q]:
    """(Replies matching the words, author and dates, whoever may see them; the filters on their
    note: document, group and tag.) Only a bounded list of ids is ever taken from the first, and
    it joins nothing, so PostgreSQL can only answer it from the search index (or a scan that
    stops early): see _reply_candidates."""
    replies = Reply.objects.filter(match, _day_range(query))
    if query.author:
        replies = replies.filter(author_id=Subquery(_user_id(query.author)))
    on_note = Q()
    if document_id is not None:
        on_note &= Q(annotation__document_id=document_id)
    if group_id is not None:
        on_note &= Q(
            annotation__visibility=Annotation.Visibility.GROUP, annotation__group_id=group_id
        )
    if query.tag:
        on_note &= Q(annotation__tags__contains=[query.tag])
    return replies, on_note


def _user_id(username: str) -> QuerySet:
    return get_user_model().objects.filter(username=username).values("pk")


def _paragraphs(match: Q, document: dict | None) -> QuerySet:
    """Every document is readable by everyone; only its current revision's text counts."""
    if document is not None:
        return Paragraph.objects.filter(match, revision_id=document["current_revision_id"])
    # The current revisions, computed once (an InitPlan): joined instead, the planner may repeat
    # the index scans once per document.
    current = ArraySubquery(
        Document.objects.filter(current_revision__isnull=False)
        .order_by()
        .values("current_revision_id")
    )
    return Paragraph.objects.filter(match, _EqualsAny(F("revision_id"), current))


def _rank(q: str, arms: list[tuple[str, list[str]]], vector=None) -> SearchRank:
    """ts_rank of `vector` (the row's `search`) against the constant tsquery of the row's arm
    (parsing the words once, not once per row)."""
    if len(arms) == 1:
        tsquery = _arm_query(q, arms[0][0])
    else:
        tsquery = Case(
            *(
                When(_InConfigs(F("language"), Value(cfgs)), then=_arm_query(q, cfg))
                for cfg, cfgs in arms
            ),
            output_field=SearchQueryField(),
        )
    return SearchRank(vector or F("search"), tsquery, normalization=RANK_NORMALISATION)


def _candidates(kind: str, found: QuerySet, rank: SearchRank) -> list[_Hit]:
    """The first CANDIDATES rows of `found`, as the index yields them, each with its rank: one
    query, which reads each row once (no sort over every match, no second visit)."""
    rows = found.order_by().annotate(rank=rank).values_list("pk", "rank")[:CANDIDATES]
    return [_Hit(kind, pk, rank) for pk, rank in rows]


def _reply_candidates(
    user, matching: QuerySet, on_note: Q, rank: SearchRank
) -> tuple[list[_Hit], bool]:
    """The first CANDIDATES replies `user` may see among the first REPLY_SCAN of `matching`, each
    with its rank, and whether more than REPLY_SCAN matched: one query.

    A reply's visibility is its note's: each candidate costs a look-up of its note, answered
    from the index annotation_audience_idx alone (an index-only scan). Asked in
    one go (matches, visible, LIMIT), the planner may guess the matches are many and walk the
    replies in another index's order instead of using the search index. So the matching ids are
    taken first, once (a CTE, from the search index and the reply's own columns only), and the
    policy's filter and the filters on the note (document, group, tag) run over them. With such
    a filter, replies matching it beyond the first REPLY_SCAN matches are not found: the count
    is then reported as a floor.
    """
    ids_sql, ids_params = matching.order_by().values("pk")[: REPLY_SCAN + 1].query.sql_with_params()
    visible = (
        Reply.objects.visible_to(user)
        .filter(_EqualsAny(F("pk"), RawSQL("(SELECT ids FROM matching)::bigint[]", ())), on_note)
        .order_by()
        .annotate(rank=rank, scanned=Value(None, output_field=IntegerField()))
        .values_list("pk", "rank", "scanned")[:CANDIDATES]
    )
    visible_sql, visible_params = visible.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH matching AS MATERIALIZED (SELECT ARRAY({ids_sql}) AS ids) "  # noqa: S608
            "(SELECT NULL::bigint, NULL::real, cardinality(ids) FROM matching)"
            f" UNION ALL ({visible_sql})",
            (*ids_params, *visible_params),
        )
        rows = cursor.fetchall()
    scanned = next(n for pk, _, n in rows if pk is None)
    hits = [_Hit("reply", pk, rank) for pk, rank, _ in rows if pk is not None]
    return hits, scanned > REPLY_SCAN


# The page: details and snippets ---------------------------------------------------------------


class _Escaped(Func):
    """The text with the sentinels removed and & < > " escaped, in SQL. A constant template,
    not five nested functions with ten parameters: this runs for every row on a page."""

    template = (
        f"replace(replace(replace(replace(translate(%(expressions)s, '{START}{STOP}', ''),"
        " '&', '&amp;'), '<', '&lt;'), '>', '&gt;'), '\"', '&quot;')"
    )
    output_field = TextField()


def _headline(column: str, q: str, *, fragments: int) -> SearchHeadline:
    """A note is short: shown whole, or its best stretch. A paragraph can be long: up to
    `fragments` stretches around the matches."""
    return SearchHeadline(
        _Escaped(F(column)),
        TsQuery(q, config=F("language"), search_type="websearch"),
        config=F("language"),
        start_sel=START,
        stop_sel=STOP,
        max_words=35,
        min_words=15,
        short_word=3,
        max_fragments=fragments,
        fragment_delimiter=" … ",
    )


def snippet_html(headline: str) -> SafeString:
    """ts_headline's output (over text escaped in SQL) as HTML whose only tags are <mark>."""
    text = headline.replace("<", "&lt;").replace(">", "&gt;")
    return mark_safe(text.replace(START, "<mark>").replace(STOP, "</mark>"))  # noqa: S308


DETAILS = {
    "note": (
        "body",
        (
            "document__slug",
            "document__title",
            "kind",
            "start_key",
            "start_position",
            "author__username",
            "created_at",
            "status",
        ),
    ),
    "reply": (
        "body",
        (
            "annotation_id",
            "annotation__document__slug",
            "annotation__document__title",
            "annotation__kind",
            "annotation__start_key",
            "annotation__start_position",
            "author__username",
            "created_at",
            "status",
        ),
    ),
    "paragraph": (
        "text",
        ("key", "position", "revision__document__slug", "revision__document__title"),
    ),
}


def _details(user, hits: list[_Hit], q: str, *, recheck: bool) -> dict[tuple[str, int], dict]:
    """What the page shows of its rows, snippets included: one query per kind on the page.

    With `recheck`, the policy is asked again, so that a note made private since the candidates
    were taken a moment ago is not shown. Without, the rows are read in the same snapshot as
    the candidates, which the policy chose (see search)."""
    readable = {
        "note": lambda: Annotation.objects.visible_to(user) if recheck else Annotation.objects,
        "reply": lambda: Reply.objects.visible_to(user) if recheck else Reply.objects,
        "paragraph": Paragraph.objects.all,
    }
    out = {}
    for kind, (column, fields) in DETAILS.items():
        ids = [hit.pk for hit in hits if hit.kind == kind]
        if not ids:
            continue  # nor is the policy's queryset built: this runs on every search
        rows = (
            readable[kind]()
            .filter(pk__in=ids)
            .order_by()
            .annotate(snippet=_headline(column, q, fragments=2 if kind == "paragraph" else 0))
            .values("pk", "snippet", *fields)
        )
        for row in rows:
            out[kind, row["pk"]] = row
    return out


def _result(hit: _Hit, f: dict) -> Result:
    snippet = snippet_html(f["snippet"])
    if hit.kind == "paragraph":
        slug, key = f["revision__document__slug"], f["key"]
        return Result(
            kind="paragraph",
            document_slug=slug,
            document_title=f["revision__document__title"],
            paragraph_key=key,
            paragraph_number=f["position"] + 1,
            annotation_id=None,
            reply_id=None,
            author="",
            created_at=None,
            snippet_html=snippet,
            rank=hit.rank,
            url=f"{reverse('document', kwargs={'slug': slug})}#p-{key}",
        )
    note = hit.kind == "note"
    prefix = "" if note else "annotation__"
    annotation_id = hit.pk if note else f["annotation_id"]
    placed = f[f"{prefix}kind"] not in (Annotation.Kind.DOCUMENT, Annotation.Kind.ORPHAN)
    if placed:
        # The reading page at the paragraph, the note's mark focused and its panel open
        # (static/annotations/panel.js reads ?note=).
        slug = f[f"{prefix}document__slug"]
        url = (
            f"{reverse('document', kwargs={'slug': slug})}?note={annotation_id}"
            f"#p-{f[f'{prefix}start_key']}"
        )
    else:
        # A discussion of the whole document, or an imported note without a place: its page.
        url = reverse("annotation", kwargs={"pk": annotation_id})
        if not note:
            url += f"#reply-{hit.pk}"
    return Result(
        kind=hit.kind,
        document_slug=f[f"{prefix}document__slug"],
        document_title=f[f"{prefix}document__title"],
        paragraph_key=f[f"{prefix}start_key"] if placed else "",
        paragraph_number=f[f"{prefix}start_position"] + 1 if placed else None,
        annotation_id=annotation_id,
        reply_id=None if note else hit.pk,
        author=f["author__username"] or "",
        created_at=f["created_at"],
        snippet_html=snippet,
        rank=hit.rank,
        url=url,
        status=f["status"],
    )


def search(user, query: SearchQuery, *, page: int = 1, per_page: int = 20) -> SearchPage:
    """One page of what `user` may read that matches `query`, best first.

    Raises SearchError when the words leave nothing to look for. See the module's docstring for
    how it stays fast: bounded candidates per kind, counts capped at COUNT_CAP.

    Its queries read one snapshot (a read-only, repeatable-read transaction), so the page's
    details are those of the rows the policy chose, as they were then, with no second look at
    the policy. Called inside a transaction already open, it cannot choose the snapshot, and
    asks the policy again for the page's rows.
    """
    if connection.in_atomic_block:
        return _search(user, query, page=page, per_page=per_page, snapshot=False)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        return _search(user, query, page=page, per_page=per_page, snapshot=True)


def _search(user, query: SearchQuery, *, page: int, per_page: int, snapshot: bool) -> SearchPage:
    if page < 1 or not 1 <= per_page <= MAX_PER_PAGE:
        raise SearchError(f"Pages start at 1 and hold 1 to {MAX_PER_PAGE} results.")
    if query.kind not in KINDS:
        raise SearchError(f"Search in one of: {', '.join(KINDS)}.")
    empty = SearchPage(results=[], total=0, page=page, per_page=per_page, has_next=False)
    document = None
    if query.document:
        document = (
            Document.objects.filter(slug=query.document)
            .values("pk", "language", "current_revision_id")
            .first()
        )
        if document is None:
            return empty
    document_id = document["pk"] if document else None
    group_id = None
    if query.group:
        group_id = Group.objects.filter(slug=query.group).values_list("pk", flat=True).first()
        if group_id is None:
            return empty
    arms = _arms(query.q, document["language"] if document else None)
    if arms is None:
        return empty
    if not arms:
        raise SearchError(
            "Nothing to search for: very common words are ignored, and -word only excludes. "
            "Add a word to look for."
        )
    match = _match(query.q, arms)
    scope = (
        InScope(document_id=document_id, group_id=group_id)
        if document_id is not None or group_id is not None
        else None
    )
    rank = _rank(query.q, arms)
    limit = page * per_page
    found: list[tuple[list[_Hit], bool]] = []
    if query.wants_notes:
        notes = _notes(user, query, _match(query.q, arms, scope))
        found.append((_candidates("note", notes, _rank(query.q, arms, note_words())), False))
    if query.wants_replies:
        found.append(_reply_candidates(user, *_replies(query, match, document_id, group_id), rank))
    if query.wants_text:
        found.append((_candidates("paragraph", _paragraphs(match, document), rank), False))
    hits: list[_Hit] = []
    total, capped = 0, False
    for candidates, scan_capped in found:
        hits.extend(candidates)
        total += min(len(candidates), COUNT_CAP)
        capped = capped or scan_capped or len(candidates) > COUNT_CAP
    hits.sort(key=lambda hit: (-hit.rank, _KIND_ORDER[hit.kind], -hit.pk))
    shown = hits[(page - 1) * per_page : limit]
    details = _details(user, shown, query.q, recheck=not snapshot)
    return SearchPage(
        # A row deleted (or hidden from the viewer) since it was found is left out.
        results=[
            _result(hit, details[hit.kind, hit.pk])
            for hit in shown
            if (hit.kind, hit.pk) in details
        ],
        total=total,
        page=page,
        per_page=per_page,
        has_next=limit < total,
        capped=capped,
    )
