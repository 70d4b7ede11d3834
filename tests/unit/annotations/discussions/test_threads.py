"""Threads as trees: a flat list of replies nested under their parents, and back to a sequence
of open/close/more events for the template. Pure functions: no database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from annotations.discussions.threads import MAX_VISIBLE_DEPTH, build_tree, flatten

START = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


@dataclass
class R:
    """A reply as build_tree sees it."""

    pk: int
    parent_id: int | None = None
    minute: int = 0

    @property
    def created_at(self) -> datetime:
        return START + timedelta(minutes=self.minute)


def shape(nodes) -> list:
    """The tree as nested (pk, depth, children) tuples, easy to compare."""
    return [(n.reply.pk, n.depth, shape(n.children)) for n in nodes]


def events(nodes, **kwargs) -> list[tuple[str, int]]:
    return [(event, node.reply.pk) for event, node in flatten(nodes, **kwargs)]


def chain(length: int) -> list[R]:
    """1 <- 2 <- 3 ...: each reply answers the one before."""
    return [R(n, n - 1 if n > 1 else None, minute=n) for n in range(1, length + 1)]


# build_tree ------------------------------------------------------------------------------------


def test_replies_nest_under_their_parents_with_their_depth():
    replies = [R(1), R(2, 1, 1), R(3, 2, 2), R(4, None, 3), R(5, 1, 4)]
    assert shape(build_tree(replies)) == [
        (1, 0, [(2, 1, [(3, 2, [])]), (5, 1, [])]),
        (4, 0, []),
    ]


def test_siblings_keep_time_order_whatever_order_they_arrive_in():
    replies = [R(3, None, 5), R(1, None, 9), R(2, None, 1), R(4, 2, 7), R(5, 2, 3)]
    assert shape(build_tree(replies)) == [
        (2, 0, [(5, 1, []), (4, 1, [])]),
        (3, 0, []),
        (1, 0, []),
    ]


def test_siblings_written_in_the_same_instant_are_ordered_by_id():
    replies = [R(9, None, 0), R(4, None, 0), R(6, None, 0)]
    assert [n.reply.pk for n in build_tree(replies)] == [4, 6, 9]


def test_the_accepted_answer_comes_first_among_its_siblings():
    replies = [R(1, None, 1), R(2, None, 2), R(3, None, 3), R(4, 1, 4), R(5, 1, 5)]
    assert [n.reply.pk for n in build_tree(replies, answer_id=3)] == [3, 1, 2]
    # An answer deeper in the thread leads its own siblings only.
    tree = build_tree(replies, answer_id=5)
    assert shape(tree) == [(1, 0, [(5, 1, []), (4, 1, [])]), (2, 0, []), (3, 0, [])]


def test_an_answer_that_is_not_in_the_thread_changes_nothing():
    replies = [R(1, None, 1), R(2, None, 2)]
    assert shape(build_tree(replies, answer_id=99)) == shape(build_tree(replies))


def test_a_reply_whose_parent_is_missing_is_dropped_with_its_whole_subtree():
    # 2 answers 1, which the caller did not fetch: 2 and everything below it goes.
    replies = [R(2, 1, 1), R(3, 2, 2), R(4, 3, 3), R(5, None, 4), R(6, 5, 5)]
    assert shape(build_tree(replies)) == [(5, 0, [(6, 1, [])])]


def test_a_subtree_can_be_grown_from_one_reply():
    replies = [R(1), R(2, 1, 1), R(3, 2, 2), R(4, None, 3)]
    assert shape(build_tree(replies, root_id=1)) == [(2, 0, [(3, 1, [])])]


def test_no_replies_make_an_empty_tree():
    assert build_tree([]) == []
    assert flatten([]) == []


def test_descendants_counts_every_reply_below():
    replies = [R(1), R(2, 1, 1), R(3, 2, 2), R(4, 1, 3), R(5, None, 4)]
    first, second = build_tree(replies)
    assert (first.descendants, second.descendants) == (3, 0)


# flatten ---------------------------------------------------------------------------------------


def test_flatten_opens_and_closes_each_reply_in_reading_order():
    replies = [R(1), R(2, 1, 1), R(3, None, 2)]
    assert events(build_tree(replies)) == [
        ("open", 1),
        ("open", 2),
        ("close", 2),
        ("close", 1),
        ("open", 3),
        ("close", 3),
    ]


def test_beyond_the_depth_limit_the_thread_continues_elsewhere():
    tree = build_tree(chain(MAX_VISIBLE_DEPTH + 2))  # depths 0..6
    out = events(tree)
    opened = [pk for event, pk in out if event == "open"]
    # Depths 0..4 are shown; the reply at depth 4 offers "more" instead of its answers.
    assert opened == list(range(1, MAX_VISIBLE_DEPTH + 1))
    assert [e for e in out if e[0] == "more"] == [("more", MAX_VISIBLE_DEPTH)]
    more_at = out.index(("more", MAX_VISIBLE_DEPTH))
    assert out[more_at - 1] == ("open", MAX_VISIBLE_DEPTH)
    assert out[more_at + 1] == ("close", MAX_VISIBLE_DEPTH)


def test_a_thread_exactly_as_deep_as_the_limit_needs_no_more_link():
    out = events(build_tree(chain(MAX_VISIBLE_DEPTH)))
    assert not [e for e in out if e[0] == "more"]
    assert len(out) == 2 * MAX_VISIBLE_DEPTH


def test_the_depth_limit_can_be_chosen():
    out = events(build_tree(chain(4)), max_depth=2)
    assert out == [("open", 1), ("open", 2), ("more", 2), ("close", 2), ("close", 1)]


@st.composite
def forests(draw):
    """Replies 1..n, each answering an earlier reply or the note, written at random times."""
    n = draw(st.integers(min_value=0, max_value=40))
    replies = []
    for pk in range(1, n + 1):
        parent = None
        if pk > 1:
            parent = draw(st.one_of(st.none(), st.integers(min_value=1, max_value=pk - 1)))
        replies.append(R(pk, parent, draw(st.integers(min_value=0, max_value=10))))
    return draw(st.permutations(replies))


@given(forests(), st.integers(min_value=1, max_value=8))
def test_flatten_balances_and_shows_each_reply_at_most_once(replies, max_depth):
    tree = build_tree(replies)
    out = flatten(tree, max_depth=max_depth)
    opened = [node.reply.pk for event, node in out if event == "open"]
    closed = [node.reply.pk for event, node in out if event == "close"]
    assert sorted(opened) == sorted(closed)
    assert len(opened) == len(set(opened))
    depth = 0
    for event, node in out:
        if event == "open":
            assert node.depth == depth < max_depth
            depth += 1
        elif event == "close":
            depth -= 1
            assert node.depth == depth
    assert depth == 0
    # Every reply is either shown or counted behind a "more" link.
    hidden = sum(node.descendants for event, node in out if event == "more")
    assert len(opened) + hidden == len(replies)


# Deep chains -----------------------------------------------------------------------------------

DEEP = 20_000  # far past Python's recursion limit


def test_a_chain_far_deeper_than_the_recursion_limit_builds_and_counts():
    tree = build_tree(chain(DEEP))
    node, depth = tree[0], 0
    while node.children:
        assert node.depth == depth and len(node.children) == 1
        node, depth = node.children[0], depth + 1
    assert (node.reply.pk, node.depth) == (DEEP, DEEP - 1)
    assert tree[0].descendants == DEEP - 1


def test_a_deep_chain_flattens_with_a_more_link_at_the_limit():
    out = events(build_tree(chain(DEEP)))
    assert out[MAX_VISIBLE_DEPTH - 1 : MAX_VISIBLE_DEPTH + 1] == [
        ("open", MAX_VISIBLE_DEPTH),
        ("more", MAX_VISIBLE_DEPTH),
    ]
    assert len(out) == 2 * MAX_VISIBLE_DEPTH + 1


def test_a_deep_chain_flattens_whole_without_a_limit():
    out = events(build_tree(chain(DEEP)), max_depth=DEEP + 1)
    assert out[:2] == [("open", 1), ("open", 2)]
    assert out[-1] == ("close", 1)
    assert len(out) == 2 * DEEP


def test_a_deep_node_has_a_short_repr():
    tree = build_tree(chain(DEEP))
    assert repr(tree[0]) == "Node(reply=1, depth=0, children=1)"
