"""Safe YAML on the node level, shared by the turingformer and turingmachine.io loaders.

The loaders never *construct* Python objects from YAML: they compose the document with
:class:`yaml.SafeLoader` into a node tree and read every scalar as the exact text written
(``node.value``), so ``0111`` stays the string "0111" and ``no`` stays "no" (PyYAML's YAML 1.1
would otherwise turn them into 73 and False). Every node keeps its source position, which
becomes the :class:`~turingformer.errors.Location` of the rule or key it defines.

Explicit tags other than the core ones (``!!python/object``, ``!!binary``, application tags) are
refused, so a machine file can never ask for code to run.
"""

from __future__ import annotations

import functools
import re
import textwrap
from typing import Iterable, Sequence

import yaml

from turingformer.errors import DefinitionSyntaxError, Location, UnknownKeyError
from turingformer.errors import did_you_mean as suggest  # noqa: F401  (the formats' did-you-mean)

_CORE = "tag:yaml.org,2002:"
ALLOWED_TAGS = frozenset(_CORE + t for t in ("str", "int", "float", "bool", "null", "seq", "map"))
NULL_TAG = _CORE + "null"
#: libyaml's composer when PyYAML was built with it (25x faster on big tables), else the pure one.
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def location(node: yaml.Node | None, filename: str | None) -> Location:
    """The 1-based (line, column) where ``node`` starts."""
    if node is None:
        return Location(filename)
    mark = node.start_mark
    return Location(filename, mark.line + 1, mark.column + 1)


class NodeReader:
    """Base of the YAML readers: keeps the file name so every node maps to a :class:`Location`."""

    def __init__(self, filename: str | None):
        self.file = filename

    def at(self, node: yaml.Node | None) -> Location:
        return location(node, self.file)


def compose(text: str, filename: str | None) -> yaml.Node | None:
    """Parse ``text`` into a node tree (None for an empty document), refusing unsafe tags."""
    try:
        root = yaml.compose(text, Loader=LOADER)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = Location(filename, mark.line + 1, mark.column + 1) if mark else Location(filename)
        problem = " ".join(p for p in (error.context, error.problem) if p)
        raise DefinitionSyntaxError(
            f"malformed YAML: {problem}", location=where,
            hint="check the indentation and quote symbols such as ' ', '#', ':', '[' and '*'",
        ) from None
    except yaml.reader.ReaderError as error:   # a character YAML does not allow (control characters)
        line = text.count("\n", 0, error.position) + 1
        raise DefinitionSyntaxError(
            f"malformed YAML: the character {chr(error.character)!r} is not allowed in a YAML file",
            location=Location(filename, line), hint='write it as an escape in double quotes, e.g. "\\x7f"',
        ) from None
    except yaml.YAMLError as error:  # pragma: no cover - other PyYAML errors carry marks
        raise DefinitionSyntaxError(f"malformed YAML: {error}", location=Location(filename)) from None
    if root is not None:
        _check_tags(root, filename)
    return root


def _check_tags(root: yaml.Node, filename: str | None) -> None:
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if node.tag not in ALLOWED_TAGS:
            raise DefinitionSyntaxError(
                f"the YAML tag {node.tag!r} is not allowed", location=location(node, filename),
                hint="machine files are loaded safely: remove the tag (no Python objects, no custom types)",
            )
        if isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.extend((key, value))


def is_null(node: yaml.Node | None) -> bool:
    """True for an absent value, ``~``, ``null`` or an empty plain scalar (``done:``)."""
    return node is None or (isinstance(node, yaml.ScalarNode) and node.tag == NULL_TAG)


def kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return "null" if is_null(node) else f"the scalar {node.value!r}"


def scalar(node: yaml.Node, what: str, filename: str | None, *, hint: str | None = None) -> str:
    """The exact text of a scalar node; anything else is a DefinitionSyntaxError about ``what``."""
    if not isinstance(node, yaml.ScalarNode):
        raise DefinitionSyntaxError(f"{what} must be a single value, got {kind(node)}",
                                    location=location(node, filename), hint=hint)
    return node.value


def sequence(node: yaml.Node, what: str, filename: str | None, *, hint: str | None = None) -> list[yaml.Node]:
    """The items of a sequence node (null = empty list)."""
    if is_null(node):
        return []
    if not isinstance(node, yaml.SequenceNode):
        raise DefinitionSyntaxError(f"{what} must be a list, got {kind(node)}",
                                    location=location(node, filename), hint=hint)
    return list(node.value)


def mapping(node: yaml.Node, what: str, filename: str | None, *, hint: str | None = None,
            null_ok: bool = True) -> list[tuple[yaml.Node, yaml.Node]]:
    """The (key, value) pairs of a mapping node (null = empty when ``null_ok``)."""
    if null_ok and is_null(node):
        return []
    if not isinstance(node, yaml.MappingNode):
        raise DefinitionSyntaxError(f"{what} must be a mapping, got {kind(node)}",
                                    location=location(node, filename), hint=hint)
    return list(node.value)


def keyed(pairs: Sequence[tuple[yaml.Node, yaml.Node]], allowed: Sequence[str], what: str,
          filename: str | None) -> dict[str, tuple[yaml.Node, yaml.Node]]:
    """Check the keys of a mapping: scalars, known, not repeated. Returns key text -> (key, value)."""
    found: dict[str, tuple[yaml.Node, yaml.Node]] = {}
    for key, value in pairs:
        name = scalar(key, f"a key of {what}", filename)
        if name not in allowed:
            guess = suggest(name, allowed)
            raise UnknownKeyError(
                f"unknown key {name!r} in {what}", location=location(key, filename),
                hint=(guess + " " if guess else "") + f"the keys are: {', '.join(allowed)}",
            )
        if name in found:
            first = location(found[name][0], filename)
            raise DefinitionSyntaxError(
                f"the key {name!r} appears twice in {what} (first at line {first.line})",
                location=location(key, filename), hint="keep one of them",
            )
        found[name] = (key, value)
    return found


# ---------------------------------------------------------------------------- writing
_PLAIN = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.+\-]| (?! ))*(?<! )\Z")
_RESOLVER = yaml.resolver.Resolver()


@functools.lru_cache(maxsize=4096)
def _reads_back(text: str, value: str) -> bool:
    try:
        node = yaml.compose(f"- {text}\n", Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return False
    item = node.value[0]
    return isinstance(item, yaml.ScalarNode) and item.value == value


@functools.lru_cache(maxsize=4096)
def dump_scalar(value: str, *, quote: bool = False) -> str:
    """A YAML scalar that reads back as exactly ``value``, usable in flow and block context.

    Plain when that is unambiguous for every YAML reader (``right``, ``q0``), else single-quoted
    (``'0'``, ``' '``), else a double-quoted JSON string (control characters).
    """
    if (not quote and _PLAIN.match(value)
            and _RESOLVER.resolve(yaml.ScalarNode, value, (True, False)) == _CORE + "str"):
        return value
    single = "'" + value.replace("'", "''") + "'"
    if value.isprintable() and _reads_back(single, value):
        return single
    return double_quoted(value)


_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\0": "\\0"}


def double_quoted(value: str) -> str:
    """A double-quoted YAML scalar; every character that is not printable is escaped."""
    out = []
    for char in value:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif char.isprintable():
            out.append(char)
        elif ord(char) < 0x100:
            out.append(f"\\x{ord(char):02x}")
        elif ord(char) < 0x10000:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    return '"' + "".join(out) + '"'



#: YAML limits an implicit (``key:``) key to 1024 characters; longer keys are written explicitly.
IMPLICIT_KEY_LIMIT = 1000


def block_key(key: str, indent: str) -> str:
    """The line(s) opening a block mapping entry for the dumped scalar ``key``: ``key:``, or for a
    key too long for YAML's implicit keys the explicit ``? key`` / ``:`` pair."""
    if len(key) <= IMPLICIT_KEY_LIMIT:
        return f"{indent}{key}:"
    return f"{indent}? {key}\n{indent}:"


def dump_flow_list(values: Iterable[str], *, quote: bool = False) -> str:
    return "[" + ", ".join(dump_scalar(v, quote=quote) for v in values) + "]"


def dump_text(value: str, indent: str = "  ") -> str:
    """A free-text value (a description): a folded or literal block when that reads back exactly,
    else a quoted scalar."""
    body = value[:-1] if value.endswith("\n") else value
    chomp = "" if value.endswith("\n") else "-"
    if value and "\n" not in body and not value.endswith("\n\n") and body == body.strip():
        wrapped = textwrap.wrap(body, width=92, break_long_words=False, break_on_hyphens=False)
        block = ">" + chomp + "\n" + "\n".join(indent + line for line in wrapped)
        if _reads_back_block(block, value):
            return block
    if "\n" in value and body and not body[0].isspace():
        lines = body.split("\n")
        if all(line.isprintable() and line == line.rstrip() for line in lines):
            block = "|" + chomp + "\n" + "\n".join((indent + line) if line else "" for line in lines)
            if _reads_back_block(block, value):
                return block
    return dump_scalar(value)


def _reads_back_block(block: str, value: str) -> bool:
    try:
        node = yaml.compose("k: " + block + "\n", Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return False
    return node.value[0][1].value == value

