"""Which definitions a parsed file holds, nested as they are: what the chunker cuts at.

The queries capture a definition as `@definition.<kind>` and its name as `@name` (optionally a `@scope`, such as
a Go receiver type, that prefixes the name); a pattern that also captures an `@alias` names the definition by it
instead, whichever pattern matched first (JavaScript's `module.exports = function name () {}`). A definition also
captured as `@overload` (a Python `@typing.overload` signature) joins the next definition of the same name at its
level, and one captured as `@accessor` (a property's `@x.setter`) joins the one before it: the signatures and their
implementation, or a property and its setter, make one chunk, instead of look-alikes that outrank the code the
query describes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tree_sitter import Node, Query, QueryCursor

CONTAINER_KINDS = frozenset({"class", "struct", "interface", "enum", "trait", "impl", "namespace"})
"""Definition kinds whose long bodies are cut into their members."""
COMMENT_STARTS = ("#", "//", "/*", "*", "--")
"""How a comment line starts, in the languages with a query file."""
_MAX_HEADER_LINES = 4
# Nodes that wrap a definition and belong to its chunk: `@decorator` lines, `export`, `template<...>`.
_WRAPPER_TYPES = frozenset({"decorated_definition", "export_statement", "template_declaration"})
# Siblings directly above a definition that belong to it (besides comments).
_LEADING_TYPES = frozenset({"attribute_item", "decorator", "attribute_list", "annotation"})


@dataclass
class Definition:
    """One definition a query captured, with its rows and, for a container, the definitions inside it."""

    name: str
    kind: str
    node: Node
    """The definition including wrappers (decorators, export, template)."""
    core: Node
    """The node the query captured; its first line is the definition line."""
    start: int
    """0-based first row, including leading doc comments and attributes."""
    end: int
    """0-based last row."""
    children: list[Definition] = field(default_factory=list)
    chunked: bool = True
    """False when nested in a function: it stays inside its parent's chunk."""
    overload: bool = False
    """A signature that belongs to the next definition of the same name (`_join_namesakes`)."""
    accessor: bool = False
    """A property's setter, getter or deleter: it belongs to the definition of the same name before it."""


def find_definitions(query: Query, root: Node) -> list[Definition]:
    """The top-level definitions of a tree, each with its nested definitions if it is a container.

    Definitions inside a function are not returned: they stay inside their parent's chunk.
    """
    found: dict[tuple[int, int], Definition] = {}
    for _, captures in QueryCursor(query).matches(root):
        kind = next((name.split(".", 1)[1] for name in captures if name.startswith("definition.")), None)
        if kind is None:
            continue
        core = captures[f"definition.{kind}"][0]
        names = [_node_text(node) for key in ("scope", "name") for node in captures.get(key, [])[:1]]
        name = ".".join(part for part in names if part).replace("::", ".")
        if captures.get("alias"):
            name = _node_text(captures["alias"][0])
        node = core
        while node.parent is not None and node.parent.type in _WRAPPER_TYPES:
            node = node.parent
        key = (node.start_byte, node.end_byte)
        if key not in found:
            found[key] = Definition(name, kind, node, core, _leading_row(node), _last_row(node))
        elif captures.get("alias"):
            found[key].name = name
        found[key].overload |= "overload" in captures
        found[key].accessor |= "accessor" in captures

    top: list[Definition] = []
    stack: list[Definition] = []
    for definition in sorted(found.values(), key=lambda d: (d.node.start_byte, -d.node.end_byte)):
        while stack and definition.node.start_byte >= stack[-1].node.end_byte:
            stack.pop()
        if not stack:
            top.append(definition)
        else:
            parent = stack[-1]
            if _rows(definition.node) == _rows(parent.node):
                continue  # the same lines twice, e.g. `typedef struct foo {...} foo_t;`
            definition.chunked = parent.chunked and parent.kind in CONTAINER_KINDS
            if definition.chunked:
                if definition.kind == "function" and parent.kind != "namespace":
                    definition.kind = "method"
                parent.children.append(definition)
        stack.append(definition)
    return _join_namesakes(top)


def _join_namesakes(defs: list[Definition]) -> list[Definition]:
    """`defs` (and their children) with each overload signature folded into the next definition of the same
    name, which then starts where the first signature does, and each property accessor folded into the
    definition of the same name before it, which then ends where the accessor does. One with no such
    neighbour stays a chunk of its own."""
    joined: list[Definition] = []
    for definition in defs:
        definition.children = _join_namesakes(definition.children)
        before = joined[-1] if joined else None
        if before is not None and before.name == definition.name and before.overload:
            definition.start = min(definition.start, joined.pop().start)
        elif before is not None and before.name == definition.name and definition.accessor:
            before.end = max(before.end, definition.end)
            continue
        joined.append(definition)
    return joined


def _leading_row(node: Node) -> int:
    """The first row of `node` including doc comments and attributes directly above it."""
    row = node.start_point.row
    while node.prev_named_sibling is None and node.parent is not None and node.parent.start_byte == node.start_byte:
        node = node.parent  # e.g. the first method in a Ruby class body: the comment precedes the body
    sibling = node.prev_named_sibling
    nearest = True
    while sibling is not None and ("comment" in sibling.type or sibling.type in _LEADING_TYPES):
        # A blank line separates them, unless the nearest one is a `/** ... */` doc block one blank line above:
        # JSDoc often stands apart from its function that way.
        slack = 1 if nearest and sibling == node.prev_sibling and _is_doc_block(sibling) else 0
        if _last_row(sibling) < row - 1 - slack:
            break
        nearest = False
        before = sibling.prev_sibling
        if before is not None and _last_row(before) >= sibling.start_point.row:
            break  # a trailing comment of the code before
        row = sibling.start_point.row
        sibling = sibling.prev_named_sibling
    return row


def _is_doc_block(node: Node) -> bool:
    """A `/** ... */` doc comment; not a `/*****/` banner or an empty `/**/`."""
    text = node.text or b""
    return "comment" in node.type and text.startswith(b"/**") and text[3:4] in (b" ", b"\t", b"\n", b"\r")


def _rows(node: Node) -> tuple[int, int]:
    return node.start_point.row, _last_row(node)


def _last_row(node: Node) -> int:
    end = node.end_point
    if end.column == 0 and end.row > node.start_point.row:
        return end.row - 1  # the node ends with its newline (e.g. Rust line comments)
    return end.row


def container_header(definition: Definition, lines: list[str]) -> str:
    """The lines that introduce a container ("class Foo(Base):"), plus a Python docstring's first line."""
    core = definition.core
    first = core.start_point.row
    body = core.child_by_field_name("body")
    last = first
    if body is not None and body.start_point.row > first:
        last = body.start_point.row - 1
    header = [line.rstrip() for line in lines[first : min(last, first + _MAX_HEADER_LINES - 1) + 1]]
    header = [line for line in header if not line.lstrip().startswith(COMMENT_STARTS)]
    if body is not None and body.type == "block" and body.named_child_count:
        statement = body.named_children[0]
        if statement.type == "expression_statement" and statement.named_child_count:
            statement = statement.named_children[0]
        if statement.type == "string":
            doc = (statement.text or b"").decode("utf-8", "replace").strip().split("\n")[0]
            header.append(lines[statement.start_point.row][: statement.start_point.column] + doc)
    return "\n".join(line for line in header if line.strip())


def _node_text(node: Node) -> str:
    return " ".join((node.text or b"").decode("utf-8", "replace").split())


def error_bytes(root: Node) -> int:
    """How many bytes of the tree are inside ERROR nodes (outermost ones only)."""
    total = 0
    stack = [root]
    while stack:
        node = stack.pop()
        if node.is_error:
            total += node.end_byte - node.start_byte
        elif node.has_error:
            stack.extend(node.children)
    return total
