"""Discussion threads: a flat list of replies -> a tree, in Python (one query per thread).

`thread_for` fetches every reply of a thread in one query and asks the policy which of them
the viewer may see; `build_tree` and `flatten`, pure functions, shape them for the page.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from annotations import policy
from annotations.models import Reply

# Replies nest visibly to this depth; deeper ones are reached through "continue this thread".
MAX_VISIBLE_DEPTH = 5


@dataclass(eq=False, repr=False)  # the generated == and repr would recurse down a chain
class Node:
    reply: Any
    depth: int
    children: list[Node] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"Node(reply={self.reply.pk!r}, depth={self.depth}, children={len(self.children)})"

    @property
    def descendants(self) -> int:
        # Counted with a stack, not recursion: a chain of replies can be any length.
        count, stack = 0, list(self.children)
        while stack:
            node = stack.pop()
            count += 1
            stack.extend(node.children)
        return count


def build_tree(
    replies: Iterable[Any], *, answer_id: int | None = None, root_id: int | None = None
) -> list[Node]:
    """Nest `replies` (objects with .pk, .parent_id, .created_at) under their parents.

    Top-level replies are those whose parent is `root_id` (None: the thread's note itself).
    Siblings keep time order, except that the accepted answer comes first among them.
    Replies whose parent is missing (not fetched) are dropped with their subtree, so a caller
    that filtered the parent out never shows its children out of context. Built with a stack,
    not recursion: however deep a chain of replies, Python's recursion limit is never reached.
    """
    children: dict[Any, list[Any]] = defaultdict(list)
    for reply in replies:
        children[reply.parent_id].append(reply)

    def order(items: list[Any]) -> list[Any]:
        return sorted(items, key=lambda r: (r.pk != answer_id, r.created_at, r.pk))

    roots: list[Node] = []
    stack: list[tuple[Any, int, list[Node]]] = [(root_id, 0, roots)]
    while stack:
        parent_id, depth, siblings = stack.pop()
        for reply in order(children.get(parent_id, [])):
            node = Node(reply, depth)
            siblings.append(node)
            stack.append((reply.pk, depth + 1, node.children))
    return roots


def flatten(nodes: list[Node], *, max_depth: int = MAX_VISIBLE_DEPTH) -> list[tuple[str, Any]]:
    """The tree as a sequence for a template: ("open", node), ("close", node) and
    ("more", node) where the subtree continues on the reply's own page."""
    out: list[tuple[str, Any]] = []
    stack: list[tuple[Node, bool]] = [(node, False) for node in reversed(nodes)]
    while stack:
        node, closing = stack.pop()
        if closing:
            out.append(("close", node))
            continue
        out.append(("open", node))
        stack.append((node, True))
        if node.children and node.depth + 1 >= max_depth:
            out.append(("more", node))
            continue
        stack.extend((child, False) for child in reversed(node.children))
    return out


@dataclass
class Thread:
    nodes: list[Node]
    count: int  # replies the viewer may see
    placeholders: int  # removed replies kept only so that their answers still read


def thread_for(user, annotation) -> Thread:
    """The replies of one note that `user` may see, as a tree: one query, whatever the size.

    A reply the viewer may not see (deleted, or hidden from them) is kept as a placeholder only
    when replies they may see hang below it; its text never leaves the server.
    """
    visible = policy.thread_reply_filter(user, annotation)
    replies = list(
        Reply.objects.filter(annotation_id=annotation.pk)
        .select_related("author")
        .order_by("created_at", "id")
    )
    by_id = {r.pk: r for r in replies}
    keep: set[int] = set()
    shown = 0
    for reply in replies:
        reply.viewer_can_see = visible(reply)
        if reply.viewer_can_see:
            shown += 1
            # Keep it and every ancestor (an ancestor it cannot see becomes a placeholder).
            node = reply
            while node is not None and node.pk not in keep:
                keep.add(node.pk)
                node = by_id.get(node.parent_id)
    kept = [r for r in replies if r.pk in keep]
    for reply in kept:
        if not reply.viewer_can_see:
            reply.body_html = ""
            reply.body = ""
    return Thread(
        nodes=build_tree(kept, answer_id=annotation.answer_id),
        count=shown,
        placeholders=len(kept) - shown,
    )
