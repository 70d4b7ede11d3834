"""A large, realistic Marginalia database for the search and export benchmarks (issue 6).

`generate(annotations=1_000_000)` fills a database of its own, `<MARGINALIA_BENCH_DB>_big`
(marginalia_bench_big by default), and returns a `World` describing it: who the viewer is,
which words are common or rare, which documents and people hold the export-sized sets. That
database is kept between runs — harness.setup() drops only MARGINALIA_BENCH_DB itself — and a
marker table (bench_generated) records what was generated with which parameters and
migrations: asked for the same again, generate() reuses it in a second. New migrations are
applied on top of the kept data; a migration file edited in place, or other parameters, makes
it start again from an empty database.

What is in it, by default:
- 200 documents of 500 paragraphs (a "Chapter n" heading every 40; prose paragraphs of 20-200
  words drawn with Zipf-like weights (exponent 1.15) from ~2,600 words: common English words
  first, then Faker's English word list, then surnames and first names as the rare tail), one
  revision each;
- 2,000 readers, plus "viewer" (a member of 3 groups) and two heavy annotators;
  40 groups of ~10-300 members, each with an owner and two moderators;
- 1,000,000 annotations: ~40% bare highlights, ~60% notes of 5-80 words of Markdown, a third of
  the notes tagged, visibility ~50% private / 30% group (by a member of the group) / 20% public,
  ~1% hidden, ~2% questions; mostly 1-15 words, 5% across two paragraphs; over two years;
  of them, "heavy-100000" wrote exactly 100,000 on document "bench-export-100000" and
  "heavy-10000" exactly 10,000 on "bench-export-10000" (nobody else annotates those two), the
  export benchmark's sets;
- 100,000 replies on group and public notes, some threads long, a third answering a reply.

Rows are valid as the app would store them: offsets count code points inside the paragraph's
text, `exact` is that slice (paragraphs joined by "\\n"), prefix/suffix are the 32 code points
around it, the revision is the document's current one, language 'english', version 1; every
997th target is checked with annotations.anchoring.anchor(). One shortcut: body_html is made
here by escaping the Markdown and wrapping its blocks in <p>, not by annotations.rendering
(which would take longer than everything else together); no export format and no search reads
body_html.

Speed: psycopg COPY, with the big tables' foreign keys and non-unique indexes dropped during
the load and made again afterwards (one pass each instead of a million index insertions), then
VACUUM ANALYZE. PostgreSQL computes the generated tsvector columns itself.

Run alone: `python tests/bench/generate.py [--annotations N] [--force] [--drop]`.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import html
import json
import random
import secrets
import sys
import time
from array import array
from bisect import bisect
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import accumulate

import harness  # first: puts the project on sys.path and sets Django up
import psycopg
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from psycopg import sql

from annotations.anchoring import CONTEXT, PARAGRAPH_SEPARATOR, ParagraphText, Target, anchor
from annotations.models import Annotation, Group, Membership, Reply
from reader.models import Document, Paragraph, Revision

BIG_DB = f"{harness.BENCH_DB}_big"
MARKER = "bench_generated"
FORMAT_VERSION = 2  # bump when what generate() writes changes
CHECK_EVERY = 997
PROGRESS_EVERY = 100_000
DAYS = 730
HEAVY_GROUPS = (1, 7)
VIEWER_GROUPS = (0, 5, 20)
BIG_TABLES = (Paragraph, Annotation, Reply)

# The most frequent English words, roughly in order: the head of the Zipf curve (most are stop
# words, which search drops, as it would in real prose).
HEAD = (
    "the of and to a in that it is was he for on are as with his they i at be this have from "
    "or one had by but not what all were we when your can said there use an each which she do "
    "how their if will up other about out many then them these so some her would make like him "
    "into time has look two more write go see number no way could people my than first been "
    "call who its now find long down day did get come made may part over new after thing only "
    "little work know place year live me back give most very good man think say great where "
    "help through much before line right too mean old any same tell boy follow came want show "
    "also around form three small set put end does another well large must big even such"
).split()
# A few words with non-ASCII letters, so offsets in code points and escaping do real work.
ACCENTED = ("café", "naïve", "façade", "rôle", "déjà", "Ærøskøbing", "coöperate", "über")
FIXED_TAGS = (
    "question",
    "theme",
    "key-idea",
    "metaphor",
    "style",
    "echo",
    "character",
    "argument",
    "definition",
    "reread",
    "disagree",
    "important",
    "source",
    "todo",
    "quote",
)
COLOURS = ("yellow", "yellow", "yellow", "green", "blue", "pink", "purple")


@dataclass
class World:
    """What the benchmarks need to know about the generated database."""

    database: str
    params: dict
    seconds: float  # how long generating it took (when it was made)
    cached: bool
    counts: dict
    viewer: str
    viewer_group_ids: list[int]
    heavy: dict[str, dict]  # str(count) -> {"user": username, "document": slug}
    vocabulary: list[str]  # by rank, most frequent first
    tags: list[str]  # by rank
    now: str  # ISO time the generated timestamps end at
    extra: dict = field(default_factory=dict)


# ----------------------------------------------------------------------------- database


def open_database(name: str = BIG_DB) -> str:
    """Create `name` if missing (never drop it), point Django at it, migrate. Also makes the
    harness (serve(), setup()) use it rather than recreate MARGINALIA_BENCH_DB."""
    if harness._bench_url and settings.DATABASES["default"]["NAME"] == name:
        return harness._bench_url
    default = settings.DATABASES["default"]
    params = harness._server_params(default, "postgres")
    with psycopg.connect(**params, autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    connection.close()
    connection.close_pool()
    default["NAME"] = name
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_database()")
        (current,) = cursor.fetchone()
    if current != name:
        raise RuntimeError(f"Django is connected to {current!r}, not {name!r}.")
    call_command("migrate", interactive=False, verbosity=0)
    harness._bench_url = harness._database_url(default, name)
    return harness._bench_url


def drop_database(name: str = BIG_DB) -> None:
    default = settings.DATABASES["default"]
    if default["NAME"] == name:
        connection.close()
        connection.close_pool()
        harness._bench_url = None
    params = harness._server_params(default, "postgres")
    with psycopg.connect(**params, autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def _migration_hashes() -> dict[str, str]:
    """Each project migration file's SHA-256: an edited one means the kept data may be stale."""
    hashes = {}
    for app in ("reader", "annotations"):
        for path in sorted((harness.BASE_DIR / app / "migrations").glob("0*.py")):
            hashes[f"{app}/{path.name}"] = hashlib.sha256(path.read_bytes()).hexdigest()
    return hashes


def _marker() -> dict | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [MARKER])
        if cursor.fetchone()[0] is None:
            return None
        cursor.execute(f"SELECT world FROM {MARKER} ORDER BY id DESC LIMIT 1")  # noqa: S608
        row = cursor.fetchone()
    return json.loads(row[0]) if row else None


def _write_marker(world: World, migrations: dict[str, str]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {MARKER} (id serial PRIMARY KEY, world text NOT NULL, "
            "migrations text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())"
        )
        cursor.execute(
            f"INSERT INTO {MARKER} (world, migrations) VALUES (%s, %s)",  # noqa: S608
            [json.dumps(asdict(world)), json.dumps(migrations)],
        )


def _stored_migrations() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT migrations FROM {MARKER} ORDER BY id DESC LIMIT 1")  # noqa: S608
        row = cursor.fetchone()
    return json.loads(row[0]) if row else {}


# ------------------------------------------------------------------------------- entry point


def generate(
    annotations: int = 1_000_000,
    *,
    documents: int = 200,
    paragraphs: int = 500,
    users: int = 2_000,
    groups: int = 40,
    replies: int = 100_000,
    heavy: tuple[int, ...] = (100_000, 10_000),
    seed: int = 6,
    force: bool = False,
    database: str = BIG_DB,
) -> World:
    """Make (or reuse) the database; return what the benchmarks need to know about it."""
    params = {
        "annotations": annotations,
        "documents": documents,
        "paragraphs": paragraphs,
        "users": users,
        "groups": groups,
        "replies": replies,
        "heavy": list(heavy),
        "seed": seed,
        "format": FORMAT_VERSION,
    }
    if sum(heavy) >= annotations or documents < len(heavy) + 1 or max(VIEWER_GROUPS) >= groups:
        raise ValueError("Too few annotations, documents or groups for the parameters given.")
    open_database(database)
    found = _marker()
    if found and not force:
        stored = _stored_migrations()
        current = _migration_hashes()
        unchanged = all(current.get(name) == digest for name, digest in stored.items())
        if found["params"] == params and unchanged:
            world = World(**{**found, "cached": True})
            print(
                f"Reusing {database}: {world.counts['annotations']:,} annotations, generated "
                f"earlier in {world.seconds:.0f} s.",
                flush=True,
            )
            return world
        print(f"{database} holds other data ({found['params']}); making it again.", flush=True)
    with connection.cursor() as cursor:
        # Anything at all (an interrupted run leaves users and no marker): start from empty.
        cursor.execute("SELECT EXISTS (SELECT 1 FROM auth_user)")
        dirty = cursor.fetchone()[0] or found is not None
    if dirty or force:
        drop_database(database)
        open_database(database)

    started = time.perf_counter()
    world = _Generator(params, database).run()
    world.seconds = time.perf_counter() - started
    _write_marker(world, _migration_hashes())
    print(f"Generated {database} in {world.seconds:.0f} s.", flush=True)
    return world


def generate_for(annotations: int) -> World:
    """The world a benchmark runs on: generate()'s own for 1,000,000 annotations, or a smaller
    one for a quick run (`--annotations N`): 20 documents, a reply for every tenth annotation,
    heavy writers of 10,000 and 1,000."""
    if annotations >= 1_000_000:
        return generate(annotations)
    return generate(annotations, documents=20, replies=annotations // 10, heavy=(10_000, 1_000))


# --------------------------------------------------------------------------------- generator


def _progress(label: str, done: int, total: int, started: float) -> None:
    elapsed = time.perf_counter() - started
    rate = done / elapsed if elapsed else 0
    print(f"  {label}: {done:,}/{total:,} ({elapsed:.0f} s, {rate:,.0f}/s)", flush=True)


def _paragraph_key(text: str) -> str:
    """As reader.importing keys paragraphs: from their content (duplicates get -2, -3...)."""
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return base64.b32encode(digest).decode("ascii").lower()[:7]


def body_html(body: str) -> str:
    """The generator's stand-in for annotations.rendering: escaped blocks in <p>."""
    blocks = [b for b in body.split("\n\n") if b.strip()]
    return "".join(
        "<p>" + html.escape(b, quote=False).replace("\n", "<br>\n") + "</p>" for b in blocks
    )


def vocabulary(seed: int) -> list[str]:
    """~2,600 distinct words by rank: the common head, then ordinary words, then names."""
    from bench_foundation import VOCABULARY as FOUNDATION
    from faker.providers.lorem.en_US import Provider as Lorem
    from faker.providers.person.en_US import Provider as Person

    rng = random.Random(seed)
    seen: set[str] = set()
    words: list[str] = []

    def add(group: list[str]) -> None:
        for word in group:
            key = word.lower()
            if word and key not in seen and word.isalpha():
                seen.add(key)
                words.append(word)

    add(HEAD)
    ordinary = [w for w in (*Lorem.word_list, *FOUNDATION, *ACCENTED) if w.isalpha()]
    rng.shuffle(ordinary)
    add(ordinary)
    names = sorted({*Person.last_names, *Person.first_names})
    rng.shuffle(names)
    add(names)
    return words


class _Generator:
    def __init__(self, params: dict, database: str):
        self.p = params
        self.database = database
        self.rng = random.Random(params["seed"])
        self.words = vocabulary(params["seed"])
        self.word_weights = list(
            accumulate(1 / (rank + 1) ** 1.15 for rank in range(len(self.words)))
        )
        content = [w for w in self.words[len(HEAD) : len(HEAD) + 400] if w.isascii()]
        self.tags = list(dict.fromkeys([*FIXED_TAGS, *(w.lower() for w in content)]))[:150]
        self.tag_weights = list(accumulate(1 / (rank + 1) for rank in range(len(self.tags))))
        self.now = datetime.now(UTC).replace(microsecond=0)
        self.started = time.perf_counter()
        self.counts: dict[str, int] = {}

    # -- helpers

    def prose(self, n: int) -> str:
        rng = self.rng
        words = rng.choices(self.words, cum_weights=self.word_weights, k=n)
        sentences, start = [], 0
        while start < n:
            end = start + rng.randint(6, 24)
            sentence = " ".join(words[start:end])
            sentences.append(sentence[0].upper() + sentence[1:] + rng.choice(".....?!,;"))
            start = end
        text = " ".join(sentences)
        return text[:-1] + "." if text[-1] in ",;" else text

    def note(self, low: int, high: int, mode: int) -> str:
        """A Markdown body: prose with emphasis, sometimes a list, a link, two paragraphs."""
        rng = self.rng
        n = int(rng.triangular(low, high, mode))
        text = self.prose(n)
        roll = rng.random()
        if roll < 0.25:
            words = text.split(" ")
            i = rng.randrange(len(words))
            words[i] = rng.choice(("*{}*", "**{}**", "`{}`")).format(words[i].strip(".,;?!"))
            text = " ".join(words)
        elif roll < 0.35 and n >= 12:
            parts = text.split(" ")
            third = len(parts) // 3
            items = [" ".join(parts[:third]), " ".join(parts[third : 2 * third])]
            text = "- " + "\n- ".join(items) + "\n\n" + " ".join(parts[2 * third :])
        elif roll < 0.40:
            text += f" See [the source](https://example.org/ref/{rng.randrange(10_000)})."
        elif roll < 0.50 and n >= 20:
            parts = text.split(". ", 1)
            if len(parts) == 2:
                text = parts[0] + ".\n\n" + parts[1]
        return text

    def copy(self, model, columns: list[str], rows, total: int, label: str) -> int:
        """COPY `rows` (tuples in `columns` order) into `model`'s table; the model's other
        stored columns get their defaults. Returns the number of rows written."""
        fields = {f.column: f for f in model._meta.concrete_fields if not f.generated}
        missing = [c for c in fields if c not in columns and not fields[c].primary_key]
        filler = []
        for column in missing:
            f = fields[column]
            if not f.has_default() and not f.null:
                raise RuntimeError(f"{model.__name__}.{f.name} has no default: add it here.")
            value = f.get_default() if f.has_default() else None
            filler.append(f.get_db_prep_save(value, connection))
        filler = tuple(filler)
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(model._meta.db_table),
            sql.SQL(", ").join(sql.Identifier(c) for c in [*columns, *missing]),
        )
        started = time.perf_counter()
        n = 0
        with connection.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row + filler if filler else row)
                n += 1
                if n % PROGRESS_EVERY == 0:
                    _progress(label, n, total, started)
        _progress(label, n, total, started)
        return n

    # -- the whole run

    def run(self) -> World:
        p = self.p
        print(
            f"Generating {self.database}: {p['documents']} documents x {p['paragraphs']} "
            f"paragraphs, {p['users']:,} readers, {p['annotations']:,} annotations, "
            f"{p['replies']:,} replies.",
            flush=True,
        )
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit = off")
            cursor.execute("SET maintenance_work_mem = '1GB'")
        self.make_people()
        dropped = self.drop_indexes()
        self.make_documents()
        self.make_annotations()
        self.make_replies()
        self.restore_indexes(dropped)
        self.finish()
        heavy = {
            str(n): {"user": f"heavy-{n}", "document": f"bench-export-{n}"} for n in p["heavy"]
        }
        return World(
            database=self.database,
            params=p,
            seconds=0.0,
            cached=False,
            counts=self.counts,
            viewer="viewer",
            viewer_group_ids=[self.group_ids[g] for g in VIEWER_GROUPS],
            heavy=heavy,
            vocabulary=self.words,
            tags=self.tags,
            now=self.now.isoformat(),
        )

    # -- people

    def make_people(self) -> None:
        p, rng = self.p, self.rng
        joined = self.now - timedelta(days=DAYS + 30)
        names = ["viewer"] + [f"heavy-{n}" for n in p["heavy"]]
        names += [f"reader-{n:05}" for n in range(p["users"])]
        self.user_ids = list(range(1, len(names) + 1))
        self.viewer_id = 1
        self.heavy_ids = dict(zip(p["heavy"], self.user_ids[1 : 1 + len(p["heavy"])], strict=True))
        readers = self.user_ids[1 + len(p["heavy"]) :]
        rows = (
            (
                uid,
                "!" + secrets.token_urlsafe(30),
                None,
                False,
                name,
                "",
                "",
                f"{name}@example.org",
                False,
                True,
                joined,
            )
            for uid, name in zip(self.user_ids, names, strict=True)
        )
        columns = ["id", "password", "last_login", "is_superuser", "username", "first_name"]
        columns += ["last_name", "email", "is_staff", "is_active", "date_joined"]
        from django.contrib.auth import get_user_model

        self.copy(get_user_model(), columns, rows, len(names), "users")
        # Authors, most active first: the viewer is a moderately active reader (rank 20).
        order = readers[:]
        rng.shuffle(order)
        order.insert(20, self.viewer_id)
        self.authors = order
        self.author_weights = list(accumulate(1 / (rank + 1) for rank in range(len(order))))

        # Groups of 3-300 members; everybody's groups, for who may post group notes.
        self.group_ids = list(range(1, p["groups"] + 1))
        self.members: dict[int, list[int]] = {}
        memberships = []
        for index, gid in enumerate(self.group_ids):
            size = min(len(readers), int(300 / (index + 1) ** 0.9) + 3)
            chosen = rng.sample(readers, size)
            if index in VIEWER_GROUPS:
                chosen.insert(1, self.viewer_id)
            if index in HEAVY_GROUPS:
                chosen.extend(self.heavy_ids.values())
            chosen = list(dict.fromkeys(chosen))
            self.members[gid] = chosen
            for position, uid in enumerate(chosen):
                role = "owner" if position == 0 else "moderator" if position <= 2 else "member"
                memberships.append((gid, uid, role, joined))
        group_rows = (
            (
                gid,
                f"Study group {gid}: {self.words[200 + gid].lower()}",
                f"study-group-{gid}",
                "",
                secrets.token_urlsafe(24),
                None,
                False,
                self.members[gid][0],
                joined,
            )
            for gid in self.group_ids
        )
        columns = ["id", "name", "slug", "description", "invite_token", "invite_expires_at"]
        columns += ["pre_moderation", "created_by_id", "created_at"]
        self.copy(Group, columns, group_rows, len(self.group_ids), "groups")
        self.copy(
            Membership,
            ["group_id", "user_id", "role", "joined_at"],
            iter(memberships),
            len(memberships),
            "memberships",
        )
        self.group_weights = list(accumulate(len(self.members[g]) for g in self.group_ids))
        self.heavy_groups = {
            uid: [g for g in self.group_ids if uid in self.members[g]]
            for uid in self.heavy_ids.values()
        }
        self.counts.update(users=len(names), groups=len(self.group_ids))
        self.counts["memberships"] = len(memberships)

    # -- documents

    def make_documents(self) -> None:
        p, rng = self.p, self.rng
        created = self.now - timedelta(days=DAYS + 1)
        self.texts: list[list[str]] = []
        self.keys: list[list[str]] = []
        self.slugs: list[str] = []
        documents, revisions, paragraph_rows = [], [], []
        heavy = p["heavy"]
        for d in range(p["documents"]):
            doc_id = d + 1
            texts = []
            for position in range(p["paragraphs"]):
                if position % 40 == 0:
                    texts.append(f"Chapter {position // 40 + 1}")
                else:
                    texts.append(self.prose(int(rng.triangular(20, 200, 40))))
            seen: dict[str, int] = {}
            keys = []
            for text in texts:
                base = _paragraph_key(text)
                seen[base] = seen.get(base, 0) + 1
                keys.append(base if seen[base] == 1 else f"{base}-{seen[base]}")
            self.texts.append(texts)
            self.keys.append(keys)
            a, b = rng.sample(self.words[150:1500], 2)
            title = f"The {a.capitalize()} of {b.capitalize()}"
            slug = f"bench-export-{heavy[d]}" if d < len(heavy) else f"bench-{doc_id:03}"
            self.slugs.append(slug)
            words = sum(len(t.split()) for t in texts)
            documents.append(
                (doc_id, slug, title, "A. Writer", "", "english", None, created, None, 0, 0)
            )
            documents[-1] = (*documents[-1][:-2], len(texts), words)
            revisions.append((doc_id, doc_id, 1, "text", "\n\n".join(texts), None, created))
            for position, (key, text) in enumerate(zip(keys, texts, strict=True)):
                heading = position % 40 == 0
                paragraph_rows.append(
                    (
                        doc_id,
                        position,
                        key,
                        "heading" if heading else "paragraph",
                        2 if heading else 0,
                        False,
                        text,
                        html.escape(text, quote=False),
                        "english",
                    )
                )
        columns = ["id", "slug", "title", "author", "source", "language", "imported_by_id"]
        columns += ["created_at", "current_revision_id", "paragraph_count", "word_count"]
        self.copy(Document, columns, iter(documents), len(documents), "documents")
        columns = ["id", "document_id", "number", "source_format", "source_text"]
        columns += ["created_by_id", "created_at"]
        self.copy(Revision, columns, iter(revisions), len(revisions), "revisions")
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE reader_document SET current_revision_id = id WHERE current_revision_id "
                "IS NULL"
            )
        columns = ["revision_id", "position", "key", "kind", "level", "ordered", "text", "html"]
        columns += ["language"]
        self.copy(Paragraph, columns, iter(paragraph_rows), len(paragraph_rows), "paragraphs")
        self.counts.update(documents=len(documents), paragraphs=len(paragraph_rows))
        spread = list(range(len(heavy), p["documents"]))
        self.spread_docs = spread
        self.doc_weights = list(accumulate(1 / (rank + 1) ** 0.8 for rank in range(len(spread))))

    # -- the bulk load's indexes

    def drop_indexes(self) -> list[tuple[str, str, str]]:
        """Drop the big tables' foreign keys and non-unique indexes; return how to remake them."""
        tables = [m._meta.db_table for m in BIG_TABLES]
        kept: list[tuple[str, str, str]] = []
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
                "FROM pg_constraint WHERE contype = 'f' AND conrelid::regclass::text = ANY(%s)",
                [tables],
            )
            foreign = cursor.fetchall()
            cursor.execute(
                "SELECT c.relname, i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) "
                "FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid "
                "WHERE c.relname = ANY(%s) AND NOT i.indisunique AND NOT i.indisprimary",
                [tables],
            )
            indexes = cursor.fetchall()
            for table, name, _ in foreign:
                cursor.execute(
                    sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                        sql.Identifier(table), sql.Identifier(name)
                    )
                )
                kept.append(("fk", table, name))
            for _, name, _ in indexes:
                cursor.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
        self.foreign, self.indexes = foreign, indexes
        print(
            f"  dropped {len(indexes)} indexes and {len(foreign)} foreign keys for the load",
            flush=True,
        )
        return kept

    def restore_indexes(self, _dropped) -> None:
        with connection.cursor() as cursor:
            for _, name, definition in self.indexes:
                started = time.perf_counter()
                cursor.execute(definition)
                print(f"  index {name}: {time.perf_counter() - started:.1f} s", flush=True)
            for table, name, definition in self.foreign:
                started = time.perf_counter()
                cursor.execute(
                    sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} ").format(
                        sql.Identifier(table), sql.Identifier(name)
                    )
                    + sql.SQL(definition)
                )
                print(f"  foreign key {name}: {time.perf_counter() - started:.1f} s", flush=True)

    # -- annotations

    def target(self, d: int) -> tuple:
        """A span of whole words: (p, start, q, end, exact, prefix, suffix)."""
        rng = self.rng
        texts = self.texts[d]
        count = len(texts)
        p = min(count - 1, int(count * rng.random() ** 1.6))  # openings are read more
        text = texts[p]
        n = len(text)
        start = text.rfind(" ", 0, rng.randrange(n)) + 1
        if rng.random() < 0.05 and p + 1 < count:
            q = p + 1
            other = texts[q]
            end = other.find(" ", rng.randrange(max(1, len(other) // 2)))
            end = len(other) if end == -1 else end
            exact = text[start:] + PARAGRAPH_SEPARATOR + other[:end]
            return p, start, q, end, exact, text[max(0, start - CONTEXT) : start], other[end:][:32]
        end = start
        for _ in range(int(rng.triangular(1, 16, 3))):
            following = text.find(" ", end + 1)
            if following == -1:
                end = n
                break
            end = following
        prefix = text[max(0, start - CONTEXT) : start]
        return p, start, p, end, text[start:end], prefix, text[end : end + CONTEXT]

    def check(self, d: int, span: tuple) -> None:
        p, start, q, end, exact, prefix, suffix = span
        keys, texts = self.keys[d], self.texts[d]
        by_key = {k: ParagraphText(i, t) for i, (k, t) in enumerate(zip(keys, texts, strict=True))}
        found = anchor(Target(keys[p], start, keys[q], end, exact), by_key, keys)
        if (found.exact, found.prefix, found.suffix) != (exact, prefix, suffix):
            raise RuntimeError(f"anchor() disagrees with the generator on document {d + 1}")

    def make_annotations(self) -> None:
        p, rng = self.p, self.rng
        total = p["annotations"]
        heavy_left = {n: n for n in p["heavy"]}
        spread_left = total - sum(p["heavy"])
        span_seconds = DAYS * 86400
        first = self.now.timestamp() - span_seconds
        # What the replies need: group/public active notes, with their time and audience.
        self.thread_ids = array("l")
        self.thread_groups = array("l")  # 0: public
        self.thread_times = array("d")
        stats = {"notes": 0, "private": 0, "group": 0, "public": 0, "hidden": 0, "tagged": 0}
        viewer_own = 0
        from_timestamp = datetime.fromtimestamp

        def rows():
            nonlocal spread_left, viewer_own
            for i in range(total):
                aid = i + 1
                # Whose and where: the heavy annotators' sets interleaved with everyone else's.
                pick = rng.randrange(total - i)
                heavy_n = None
                for n, left in heavy_left.items():
                    if pick < left:
                        heavy_n = n
                        break
                    pick -= left
                roll = rng.random()
                visibility = "private" if roll < 0.5 else "group" if roll < 0.8 else "public"
                group = None
                if heavy_n is not None:
                    heavy_left[heavy_n] -= 1
                    d = p["heavy"].index(heavy_n)
                    author = self.heavy_ids[heavy_n]
                    if visibility == "group":
                        group = rng.choice(self.heavy_groups[author])
                else:
                    spread_left -= 1
                    d = self.spread_docs[
                        bisect(self.doc_weights, rng.random() * self.doc_weights[-1])
                    ]
                    if visibility == "group":
                        g = bisect(self.group_weights, rng.random() * self.group_weights[-1])
                        group = self.group_ids[g]
                        author = rng.choice(self.members[group])
                    else:
                        w = self.author_weights
                        author = self.authors[bisect(w, rng.random() * w[-1])]
                span = self.target(d)
                if aid % CHECK_EVERY == 0:
                    self.check(d, span)
                sp, start, ep, end, exact, prefix, suffix = span
                keys = self.keys[d]
                body, rendered, tags = "", "", []
                if rng.random() < 0.6:
                    body = self.note(5, 80, 18)
                    rendered = body_html(body)
                    stats["notes"] += 1
                    if rng.random() < 0.35:
                        k = rng.choice((1, 1, 1, 2, 2, 3))
                        tags = list(
                            dict.fromkeys(rng.choices(self.tags, cum_weights=self.tag_weights, k=k))
                        )
                        stats["tagged"] += 1
                status = "hidden" if rng.random() < 0.01 else "active"
                stats[visibility] += 1
                stats["hidden"] += status == "hidden"
                viewer_own += author == self.viewer_id
                stamp = first + (i + rng.random()) * span_seconds / total
                created = from_timestamp(stamp, UTC)
                if body and status == "active" and visibility != "private":
                    self.thread_ids.append(aid)
                    self.thread_groups.append(group or 0)
                    self.thread_times.append(stamp)
                yield (
                    aid,
                    d + 1,
                    d + 1,
                    author,
                    "span",
                    keys[sp],
                    start,
                    sp,
                    keys[ep],
                    end,
                    ep,
                    exact,
                    prefix,
                    suffix,
                    rng.choice(COLOURS),
                    body,
                    rendered,
                    tags,
                    visibility,
                    group,
                    status,
                    "Off-topic." if status == "hidden" else "",
                    bool(body) and rng.random() < 0.03,
                    None,
                    False,
                    1,
                    created,
                    created,
                    "",
                    "",
                    "english",
                )

        columns = ["id", "document_id", "revision_id", "author_id", "kind", "start_key"]
        columns += ["start_offset", "start_position", "end_key", "end_offset", "end_position"]
        columns += ["exact", "prefix", "suffix", "colour", "body", "body_html", "tags"]
        columns += ["visibility", "group_id", "status", "moderation_reason", "is_question"]
        columns += ["answer_id", "locked", "version", "created_at", "updated_at", "source_id"]
        columns += ["source_creator", "language"]
        self.copy(Annotation, columns, rows(), total, "annotations")
        self.counts.update(annotations=total, viewer_own=viewer_own, **stats)

    # -- replies

    def make_replies(self) -> None:
        p, rng = self.p, self.rng
        total = p["replies"]
        eligible = len(self.thread_ids)
        now = self.now.timestamp()
        w = self.author_weights
        # Which note each reply is in, and when: a third continue a recent thread (so some
        # threads run long), the rest open or join a random one.
        events = []
        recent: list[int] = []
        for _ in range(total):
            if recent and rng.random() < 0.35:
                index = rng.choice(recent[-500:])
            else:
                index = rng.randrange(eligible)
                recent.append(index)
            start = self.thread_times[index]
            stamp = min(now - 1, start + rng.expovariate(1 / (3 * 86400)) + 60)
            events.append((stamp, index))
        events.sort()
        last_reply: dict[int, list[int]] = {}

        def rows():
            for n, (stamp, index) in enumerate(events):
                rid = n + 1
                aid = self.thread_ids[index]
                group = self.thread_groups[index]
                if group:
                    author = rng.choice(self.members[group])
                else:
                    author = self.authors[bisect(w, rng.random() * w[-1])]
                earlier = last_reply.setdefault(aid, [])
                parent = rng.choice(earlier) if earlier and rng.random() < 0.33 else None
                earlier.append(rid)
                body = self.note(5, 60, 14)
                status = "hidden" if rng.random() < 0.005 else "active"
                created = datetime.fromtimestamp(stamp, UTC)
                yield (
                    rid,
                    aid,
                    parent,
                    author,
                    body,
                    body_html(body),
                    status,
                    "Off-topic." if status == "hidden" else "",
                    1,
                    created,
                    None,
                    "",
                    "",
                    "english",
                )

        columns = ["id", "annotation_id", "parent_id", "author_id", "body", "body_html"]
        columns += ["status", "moderation_reason", "version", "created_at", "edited_at"]
        columns += ["source_id", "source_creator", "language"]
        self.copy(Reply, columns, rows(), total, "replies")
        self.counts.update(replies=total, threads=len(last_reply))

    # -- after the load

    def finish(self) -> None:
        from django.contrib.auth import get_user_model

        models = (get_user_model(), Group, Document, Revision, Paragraph, Annotation, Reply)
        with connection.cursor() as cursor:
            for model in models:
                table = model._meta.db_table
                cursor.execute(
                    sql.SQL(
                        "SELECT setval(pg_get_serial_sequence(%s, 'id'), "
                        "(SELECT coalesce(max(id), 0) + 1 FROM {}), false)"
                    ).format(sql.Identifier(table)),
                    [table],
                )
            started = time.perf_counter()
            cursor.execute("VACUUM ANALYZE")
            print(f"  VACUUM ANALYZE: {time.perf_counter() - started:.1f} s", flush=True)
            cursor.execute("RESET synchronous_commit")
            cursor.execute("RESET maintenance_work_mem")
            cursor.execute(
                "SELECT pg_size_pretty(pg_database_size(current_database())), "
                "(SELECT count(*) FROM annotations_annotation), "
                "(SELECT count(*) FROM annotations_reply)"
            )
            size, annotations, replies = cursor.fetchone()
        if (annotations, replies) != (self.p["annotations"], self.p["replies"]):
            raise RuntimeError(f"Stored {annotations} annotations and {replies} replies.")
        self.counts["database_size"] = size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--annotations", type=int, default=1_000_000)
    parser.add_argument("--replies", type=int, default=100_000)
    parser.add_argument("--documents", type=int, default=200)
    parser.add_argument("--force", action="store_true", help="generate again even if cached")
    parser.add_argument("--drop", action="store_true", help="drop the database and exit")
    args = parser.parse_args()
    if args.drop:
        drop_database()
        print(f"Dropped {BIG_DB}.")
        return 0
    heavy = (100_000, 10_000) if args.annotations > 220_000 else (10_000, 1_000)
    world = generate(
        args.annotations,
        replies=args.replies,
        documents=args.documents,
        heavy=heavy,
        force=args.force,
    )
    print(json.dumps({k: v for k, v in asdict(world).items() if k not in ("vocabulary",)}))
    harness.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
