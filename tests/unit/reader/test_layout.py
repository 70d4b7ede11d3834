"""The reading page's body: one element per paragraph, lists nested by level."""

from __future__ import annotations

import re

from reader.layout import render_paragraphs
from reader.models import Paragraph


def para(position: int, kind: str = "paragraph", level: int = 0, ordered: bool = False):
    key = f"k{position}"
    return Paragraph(
        position=position,
        key=key,
        kind=kind,
        level=level,
        ordered=ordered,
        text=f"text {position}",
        html=f"text {position}",
    )


def tags(html: str) -> list[str]:
    return re.findall(r"</?(?:ul|ol|li|div|blockquote)\b", html)


def test_each_paragraph_has_its_anchor_and_number_link():
    html = render_paragraphs([para(0), para(1, "heading", level=2)])
    assert '<div class="para kind-paragraph" id="p-k0" data-key="k0">' in html
    assert '<a class="pnum" href="#p-k1" aria-label="Paragraph 2">2</a>' in html
    assert '<h3 class="ptext" id="t-k1">text 1</h3>' in html


def test_nested_lists_open_inside_their_parent_item_and_close_in_order():
    html = render_paragraphs(
        [
            para(0, "list_item", 1),
            para(1, "list_item", 2),
            para(2, "list_item", 2),
            para(3, "list_item", 1),
            para(4),
        ]
    )
    assert tags(html) == [
        "<ul",
        "<li",
        "<ul",
        "<li",
        "</li",
        "<li",
        "</li",
        "</ul",
        "</li",
        "<li",
        "</li",
        "</ul",
        "<div",
        "</div",
    ]


def test_a_change_between_ordered_and_unordered_starts_a_new_list():
    html = render_paragraphs([para(0, "list_item", 1, True), para(1, "list_item", 1, False)])
    assert tags(html) == ["<ol", "<li", "</li", "</ol", "<ul", "<li", "</li", "</ul"]


def test_a_deep_item_without_parents_nests_one_level_at_a_time():
    html = render_paragraphs([para(0, "list_item", 3), para(1, "list_item", 1)])
    assert tags(html) == ["<ul", "<li", "</li", "<li", "</li", "</ul"]


def test_quotes_and_code_keep_their_elements():
    html = render_paragraphs([para(0, "blockquote"), para(1, "code")])
    assert '<blockquote class="para kind-blockquote" id="p-k0"' in html
    assert '<pre class="ptext" id="t-k1"><code>text 1</code></pre>' in html
