"""YAML read from people we do not trust: bounded in depth, in nodes and in what aliases
expand to, and refused when it names a tag we do not know.

PyYAML's composer recurses once per nesting level (10,000 ``[`` raise ``RecursionError``),
keeps aliased nodes without counting what they expand to, and accepts any tag (the safe
constructor refuses ``!!python/…`` only when it constructs). Here the events of libyaml's
parser (PyYAML's own parser when libyaml is missing; neither recurses) are composed
without recursion into PyYAML's ``Node`` tree, counting as it goes: the nesting depth, the
nodes and the scalar bytes once every alias is expanded (an alias counts as deep as the
node it names, where it is used). Any breach is a ``YAMLLimitError``
with the line and column where it happened. An alias to a node that is still open (a
recursive structure) is refused too.

``load_bounded`` then constructs plain Python values with the safe constructor, turning a
value Python refuses (an integer of 5,000 digits, a date in month 13) into the same error.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.events import (
    AliasEvent,
    DocumentEndEvent,
    Event,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
    StreamStartEvent,
)
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import Resolver

_CORE = "tag:yaml.org,2002:"
STANDARD_TAGS = frozenset(_CORE + t for t in (
    "str", "int", "float", "bool", "null", "map", "seq", "merge", "timestamp", "binary",
    "set", "omap", "pairs"))
STR_TAG, SEQ_TAG, MAP_TAG = _CORE + "str", _CORE + "seq", _CORE + "map"
_LOADER = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader


class YAMLLimitError(Exception):
    """The text is not YAML we accept; ``line``/``column`` are 1-based (0: no place)."""

    def __init__(self, message: str, line: int = 0, column: int = 0) -> None:
        super().__init__(message)
        self.message, self.line, self.column = message, line, column


@dataclass(frozen=True)
class Limits:
    max_depth: int = 64
    max_nodes: int = 50_000  # after expanding aliases
    max_scalar_bytes: int = 4 * 1024 * 1024  # after expanding aliases
    extra_tags: frozenset[str] = frozenset()  # accepted besides the standard ones
    # Resolve plain scalars' implicit tags (int, bool, …): needed to construct values, not
    # to check a Compose file (it reads scalars as text), and a third of the time.
    resolve_scalars: bool = True


def compose_bounded(text: str, limits: Limits = Limits()) -> Node | None:
    """The node tree of the single document in ``text`` (``None`` when it is empty)."""
    try:
        return _Composer(limits).compose(yaml.parse(text, Loader=_LOADER))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        raise YAMLLimitError(f"YAML syntax: {problem}", *_place(mark)) from None
    except yaml.YAMLError as exc:
        raise YAMLLimitError(f"YAML: {exc}") from None


def load_bounded(text: str, limits: Limits = Limits()) -> Any:
    """Plain Python values (dict, list, str, int, …) of ``text``, within ``limits``."""
    node = compose_bounded(text, limits)
    if node is None:
        return None
    try:
        return _Constructor().construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise YAMLLimitError(f"YAML: {exc.problem or exc.context}", *_place(mark)) from None


def _place(mark: Any) -> tuple[int, int]:
    return (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)


class _Composer:
    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.resolver: Any = Resolver()  # PyYAML's resolver is untyped
        self.tags = STANDARD_TAGS | limits.extra_tags
        # node, nodes, scalar bytes, height (levels of collections, 0 for a scalar)
        self.anchors: dict[str, tuple[Node, int, int, int]] = {}
        self.open_anchors: set[str] = set()
        self.nodes = 0
        self.scalar_bytes = 0

    def compose(self, events: Iterable[Event]) -> Node | None:
        stream = iter(events)
        first = next(stream)
        assert isinstance(first, StreamStartEvent)
        event = next(stream)
        if isinstance(event, StreamEndEvent):
            return None
        root = self._document(stream)
        event = next(stream)
        if not isinstance(event, StreamEndEvent):
            raise YAMLLimitError("expected a single document, found a second one",
                                 *_place(event.start_mark))
        return root

    def _document(self, stream: Iterator[Event]) -> Node:
        # One open collection: [node, anchor, pending key, nodes, scalar bytes, height].
        stack: list[list[Any]] = []
        root: Node | None = None
        limits, anchors = self.limits, self.anchors
        plain_tag = STR_TAG if not limits.resolve_scalars else None
        for raw in stream:
            event: Any = raw  # dispatched on its exact type below
            kind = type(event)
            if kind is ScalarEvent:
                tag = event.tag
                if tag is None or tag == "!":
                    tag = plain_tag or self.resolver.resolve(ScalarNode, event.value,
                                                             event.implicit)
                else:
                    self._allowed(tag, event)
                node: Node = ScalarNode(tag, event.value, event.start_mark, event.end_mark,
                                        style=event.style)
                nodes, size, height = 1, len(event.value), 0
                self.nodes += 1
                self.scalar_bytes += size
                if self.nodes > limits.max_nodes or self.scalar_bytes > limits.max_scalar_bytes:
                    self._over(event)
                if event.anchor is not None:
                    self._check_anchor(event.anchor, event)
                    anchors[event.anchor] = (node, nodes, size, height)
            elif kind is SequenceEndEvent or kind is MappingEndEvent:
                node, anchor, _, nodes, size, height = stack.pop()
                node.end_mark = event.end_mark
                if anchor is not None:
                    self.open_anchors.discard(anchor)
                    anchors[anchor] = (node, nodes, size, height)
            elif kind is SequenceStartEvent or kind is MappingStartEvent:
                if len(stack) >= limits.max_depth:
                    raise YAMLLimitError(
                        f"the YAML is nested more than {limits.max_depth} levels deep",
                        *_place(event.start_mark))
                node_kind = SequenceNode if kind is SequenceStartEvent else MappingNode
                tag = event.tag
                if tag is None or tag == "!":
                    tag = SEQ_TAG if node_kind is SequenceNode else MAP_TAG
                else:
                    self._allowed(tag, event)
                if event.anchor is not None:
                    self._check_anchor(event.anchor, event)
                    self.open_anchors.add(event.anchor)
                self.nodes += 1
                if self.nodes > limits.max_nodes:
                    self._over(event)
                stack.append([node_kind(tag, [], event.start_mark, None,
                                        flow_style=event.flow_style),
                              event.anchor, None, 1, 0, 1])
                continue
            elif kind is AliasEvent:
                node, nodes, size, height = self._alias(event)
                if len(stack) + height > limits.max_depth:
                    raise YAMLLimitError(
                        f"the YAML is nested more than {limits.max_depth} levels deep "
                        f"(the alias *{event.anchor} is {height} levels deep itself)",
                        *_place(event.start_mark))
            elif kind is DocumentEndEvent:
                assert root is not None
                return root
            else:  # DocumentStart/StreamEnd cannot appear inside a document
                raise YAMLLimitError("unexpected YAML event", *_place(event.start_mark))
            if not stack:
                root = node
                continue
            parent = stack[-1]
            parent[3] += nodes
            parent[4] += size
            parent[5] = max(parent[5], height + 1)
            if type(parent[0]) is SequenceNode:
                parent[0].value.append(node)
            elif parent[2] is None:
                parent[2] = node
            else:
                parent[0].value.append((parent[2], node))
                parent[2] = None
        raise YAMLLimitError("the YAML document does not end")

    def _alias(self, event: AliasEvent) -> tuple[Node, int, int, int]:
        anchor = event.anchor
        if anchor in self.open_anchors:
            raise YAMLLimitError(f"the alias *{anchor} refers to a node that contains it",
                                 *_place(event.start_mark))
        if anchor not in self.anchors:
            raise YAMLLimitError(f"found undefined alias *{anchor}", *_place(event.start_mark))
        node, nodes, size, height = self.anchors[anchor]
        self.nodes += nodes
        self.scalar_bytes += size
        if self.nodes > self.limits.max_nodes or \
                self.scalar_bytes > self.limits.max_scalar_bytes:
            self._over(event)
        return node, nodes, size, height

    def _check_anchor(self, anchor: str, event: Event) -> None:
        if anchor in self.anchors or anchor in self.open_anchors:
            raise YAMLLimitError(f"the anchor &{anchor} is defined twice",
                                 *_place(event.start_mark))

    def _over(self, event: Event) -> None:
        if self.nodes > self.limits.max_nodes:
            raise YAMLLimitError(f"the YAML has more than {self.limits.max_nodes} nodes "
                                 "(after expanding aliases)", *_place(event.start_mark))
        raise YAMLLimitError(
            f"the YAML holds more than {self.limits.max_scalar_bytes // 1024} KiB of "
            "values (after expanding aliases)", *_place(event.start_mark))

    def _allowed(self, tag: str, event: Event) -> None:
        if tag not in self.tags:
            shown = "!!" + tag[len(_CORE):] if tag.startswith(_CORE) else tag
            raise YAMLLimitError(f"the YAML tag {shown} is not allowed here",
                                 *_place(event.start_mark))


class _Constructor(SafeConstructor):
    """The safe constructor; a value Python cannot make is an error at its place."""

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, OverflowError) as exc:
            raise YAMLLimitError(f"the value cannot be read: {exc}",
                                 *_place(node.start_mark)) from None
