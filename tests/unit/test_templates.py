"""The templates: one place trusts a note's stored HTML, and one pager serves every paged list.

Autoescaping is what keeps a reader's words from running as markup; `|safe` turns it off. These
tests read every template so that a new `|safe` is a decision someone makes on purpose, here.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

from django.conf import settings
from django.core.paginator import Paginator
from django.template.loader import render_to_string

TEMPLATES = Path(settings.BASE_DIR) / "templates"

# Values marked safe because the server made them, never a person's raw input.
SERVER_MADE = {
    # A note's or reply's body_html: Markdown rendered once, on save, through nh3's allow-list.
    ("annotations/_body.html", "item.body_html"),
    # Paragraphs with their marks, drawn by annotations.reading.page from the imported text's HTML.
    ("annotations/reading/_changed.html", "part"),
    ("annotations/live/_live_paragraphs.html", "part"),
    # Form help texts, written in code (Django's password rules come as an HTML list).
    ("field.html", "field.help_text"),
}

VARIABLE = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
UNESCAPED_BLOCK = re.compile(r"\{%\s*(autoescape\s+off|filter\s[^%]*\bsafe)", re.DOTALL)


def _marked_safe() -> list[tuple[str, str]]:
    """(template, expression) for every value a template lets through unescaped."""
    found = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        name = path.relative_to(TEMPLATES).as_posix()
        text = path.read_text()
        for match in VARIABLE.finditer(text):
            expression, *filters = (part.strip() for part in match[1].split("|"))
            if {f.split(":")[0] for f in filters} & {"safe", "safeseq"}:
                found.append((name, expression))
        found += [(name, block[0]) for block in UNESCAPED_BLOCK.finditer(text)]
    return found


def test_a_notes_html_is_marked_safe_in_one_include_only():
    trusted = [where for where in _marked_safe() if "body_html" in where[1]]
    assert trusted == [("annotations/_body.html", "item.body_html")], (
        "Show a note's or reply's body with "
        '{% include "annotations/_body.html" with item=... only %}, not body_html|safe'
    )


def test_every_other_value_marked_safe_is_made_by_the_server():
    assert set(_marked_safe()) <= SERVER_MADE


def test_the_body_include_shows_the_stored_html_and_nothing_for_a_bare_highlight():
    note = SimpleNamespace(body_html="<p>A <em>close</em> reading</p>")
    assert render_to_string("annotations/_body.html", {"item": note}).strip() == (
        '<div class="note-body"><p>A <em>close</em> reading</p></div>'
    )
    highlight = SimpleNamespace(body_html="")
    assert render_to_string("annotations/_body.html", {"item": highlight}).strip() == ""


def _page(number: int, *, items: int = 25, per_page: int = 10):
    return Paginator(range(items), per_page).get_page(number)


def test_the_pager_links_both_ways_and_keeps_the_lists_filters():
    html = render_to_string("pager.html", {"page": _page(2), "query": "tag=knot&visibility=group"})
    assert '<nav class="pager" aria-label="Pages">' in html
    assert '<a href="?tag=knot&amp;visibility=group&amp;page=1" rel="prev">Newer</a>' in html
    assert "<span>Page 2 of 3</span>" in html
    assert '<a href="?tag=knot&amp;visibility=group&amp;page=3" rel="next">Older</a>' in html


def test_the_pager_on_the_first_and_last_pages_links_one_way():
    first = render_to_string("pager.html", {"page": _page(1)})
    assert '<a href="?page=2" rel="next">Older</a>' in first and 'rel="prev"' not in first
    last = render_to_string("pager.html", {"page": _page(3)})
    assert '<a href="?page=2" rel="prev">Newer</a>' in last and 'rel="next"' not in last


def test_a_list_that_runs_oldest_first_names_its_pager_links_previous_and_next():
    html = render_to_string(
        "pager.html", {"page": _page(2), "previous_text": "Previous", "next_text": "Next"}
    )
    assert '<a href="?page=1" rel="prev">Previous</a>' in html
    assert '<a href="?page=3" rel="next">Next</a>' in html


def test_a_list_of_one_page_has_no_pager():
    assert render_to_string("pager.html", {"page": _page(1, items=5)}).strip() == ""
