"""YAML loading that keeps the file, line and column of every node."""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from reconciler.core.errors import ManifestError, Problem

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_NODES = 200_000  # built through aliases, per file: stops "billion laughs" files
MAX_DEPTH = 100  # nested lists and mappings, aliases expanded
SAFE_DEPTH = 2_000  # what libyaml's composer (recursive C) is trusted to nest without a check

MERGE_TAG = "tag:yaml.org,2002:merge"

_PLAIN_TAGS = frozenset(
    f"tag:yaml.org,2002:{t}"
    for t in ("map", "seq", "str", "int", "float", "bool", "null", "timestamp", "binary")
)

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

PathKey = tuple[str | int, ...]


@dataclass
class Located:
    """One YAML document as plain values plus the location of every node."""

    file: str
    value: Any
    lines: dict[PathKey, tuple[int, int]] = field(default_factory=dict)
    keys: dict[PathKey, tuple[int, int]] = field(default_factory=dict)
    """Where each mapping entry's key is, for problems about the key itself."""

    def where(self, path: PathKey) -> tuple[int, int]:
        """Line and column of the node at `path`, or of its nearest located parent."""
        p = tuple(path)
        while p not in self.lines and p:
            p = p[:-1]
        return self.lines.get(p, (1, 1))

    def problem(self, path: PathKey, message: str, rule: str, at_key: bool = False) -> Problem:
        """A problem at the node at `path` (with `at_key`, at the key that names it)."""
        line, col = (at_key and self.keys.get(tuple(path))) or self.where(path)
        return Problem(self.file, line, col, message, rule)


class _Builder:
    """Builds one file's documents; the alias budget is the file's, not each document's."""

    def __init__(self) -> None:
        self.doc = Located("", None)
        self.aliased = 0
        self.problems: list[Problem] = []
        self._seen: set[int] = set()

    def start(self, doc: Located) -> None:
        self.doc = doc
        self.problems = []
        # Aliases never cross documents, and a finished document's nodes may be freed
        # (their ids reused): what counts as "built before" is per document.
        self._seen = set()

    def build(self, node: yaml.Node, path: PathKey, depth: int = 0, alias: bool = False) -> Any:
        if depth > MAX_DEPTH and not isinstance(node, yaml.ScalarNode):
            raise _TooDeep(node)
        # An alias is the very node its anchor made: a node built a second time is an
        # expansion, and so is everything under it.
        if alias or id(node) in self._seen:
            alias = True
            self.aliased += 1
            if self.aliased > MAX_NODES:
                raise _TooBig(node)
        else:
            self._seen.add(id(node))
        self.doc.lines.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
        if node.tag not in _PLAIN_TAGS:
            line, col = node.start_mark.line + 1, node.start_mark.column + 1
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            self.problems.append(
                Problem(self.doc.file, line, col, f"unsupported YAML tag {tag}", "yaml-tag")
            )
            return node.value if isinstance(node, yaml.ScalarNode) else None
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            merges = []
            for key_node, value_node in node.value:
                if key_node.tag == MERGE_TAG:
                    merges.append(value_node)
                else:
                    self._entry(out, path, key_node, value_node, depth, alias)
            # `<<: *anchor`: keys written out win, then earlier sources; every merged node
            # is built (and counted) again, so a merge bomb is stopped like an alias bomb.
            for value_node in merges:
                many = isinstance(value_node, yaml.SequenceNode)
                for src in value_node.value if many else [value_node]:
                    if isinstance(src, yaml.MappingNode):
                        for key, value in self.build(src, path, depth, alias).items():
                            out.setdefault(key, value)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(n, (*path, i), depth + 1, alias) for i, n in enumerate(node.value)]
        return self._scalar(node)

    def _scalar(self, node: yaml.Node) -> Any:
        try:
            return _scalar(node)
        except (ValueError, KeyError, TypeError, AttributeError, yaml.YAMLError):
            # `!!int abc`, `!!timestamp 2001-13-45` (also implicit: an unquoted date that
            # is no date), `!!bool maybe`, `!!binary` that is not base64.
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            line, col = node.start_mark.line + 1, node.start_mark.column + 1
            value = str(node.value)
            shown = repr(value if len(value) <= 40 else value[:40] + "...")
            self.problems.append(
                Problem(
                    self.doc.file,
                    line,
                    col,
                    f"{shown} is not a valid {tag} value (quote it if it is meant as text)",
                    "yaml-tag",
                )
            )
            return node.value

    def _entry(
        self,
        out: dict[Any, Any],
        path: PathKey,
        key_node: yaml.Node,
        value_node: yaml.Node,
        depth: int,
        alias: bool,
    ) -> None:
        line, col = key_node.start_mark.line + 1, key_node.start_mark.column + 1
        if not isinstance(key_node, yaml.ScalarNode):
            self.problems.append(
                Problem(
                    self.doc.file,
                    line,
                    col,
                    "a mapping key must be a plain value, not a list or mapping",
                    "yaml-syntax",
                )
            )
            return
        key = self._scalar(key_node)
        if key is None:
            key = str(key)
        if key in out:
            first, _ = self.doc.lines.get((*path, key), (line, col))
            self.problems.append(
                Problem(
                    self.doc.file,
                    line,
                    col,
                    f"duplicate key {key!r} (first at line {first})",
                    "duplicate-key",
                )
            )
            return
        child = (*path, key)
        self.doc.keys.setdefault(child, (line, col))
        # A scalar is located at its value (what a schema error is about); a list or a
        # mapping at its key, since a block collection starts on the next line.
        if not isinstance(value_node, yaml.ScalarNode):
            self.doc.lines.setdefault(child, (line, col))
        out[key] = self.build(value_node, child, depth + 1, alias)


class _TooBig(Exception):
    def __init__(self, node: yaml.Node) -> None:
        self.node = node


class _TooDeep(_TooBig):
    pass


_constructor = yaml.SafeLoader("")


def _scalar(node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        if node.tag == _STR_TAG:  # most scalars: skip the constructor's machinery
            return node.value
        value = _constructor.construct_object(node, deep=True)
        if isinstance(value, float) and not math.isfinite(value):
            # .nan and .inf compare false with every limit: no setting may hold one.
            raise ValueError(f"not a finite number: {node.value}")
        return value
    return None


_STR_TAG = "tag:yaml.org,2002:str"


def load_file(path: Path) -> tuple[list[Located], list[Problem]]:
    """Every document of one YAML file, or the problems that stop it loading."""
    name = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return [], [
                Problem(
                    name,
                    1,
                    1,
                    f"file is {size / 1024 / 1024:.1f} MB ({size} bytes), over the 5 MB limit",
                    "file-too-large",
                )
            ]
        raw = path.read_bytes()
    except OSError as exc:
        return [], [Problem(name, 1, 1, f"cannot read file: {exc.strerror}", "unreadable")]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        line_start = raw.rfind(b"\n", 0, exc.start) + 1
        col = len(raw[line_start : exc.start].decode("utf-8")) + 1
        message = f"file is not valid UTF-8 text (byte 0x{raw[exc.start]:02x}); save it as UTF-8"
        return [], [Problem(name, line, col, message, "encoding")]
    return load_text(text, name)


def load_one(path: Path, name: str, kind: str, rule: str) -> Located:
    """The one document of a file that must hold exactly one (a config, a policy); else
    `ManifestError` naming the file and line: "<name> file holds 2 documents; ..."."""
    docs, problems = load_file(path)
    if problems:
        raise ManifestError(problems)
    if len(docs) != 1:
        line, col = docs[1].where(()) if docs else (1, 1)
        what = f"holds {len(docs)} documents" if docs else "is empty"
        message = f"{name} file {what}; it must hold exactly one (kind: {kind})"
        raise ManifestError([Problem(str(path), line, col, message, rule)])
    return docs[0]


def load_text(text: str, name: str) -> tuple[list[Located], list[Problem]]:
    docs: list[Located] = []
    problems: list[Problem] = []
    builder = _Builder()
    try:
        deep = None if _shallow(text) else _too_deep(text, name)
        if deep is not None:
            return [], [deep]
        for node in yaml.compose_all(text, Loader=_Loader):
            if node is None:
                continue
            doc = Located(name, None)
            builder.start(doc)
            try:
                doc.value = builder.build(node, ())
            except _TooDeep as deep_node:
                mark = deep_node.node.start_mark
                problems.append(_deep(name, mark.line + 1, mark.column + 1))
                continue
            except _TooBig as big:
                mark = big.node.start_mark
                problems.append(
                    Problem(
                        name,
                        node.start_mark.line + 1,
                        node.start_mark.column + 1,
                        f"YAML aliases in this file expand to more than {MAX_NODES} nodes "
                        f"(near line {mark.line + 1}); refusing to load it",
                        "alias-bomb",
                    )
                )
                # The budget is the file's: none of it is loaded.
                docs = []
                break
            if builder.problems:
                # Its value is not what the file says (a key dropped, a tag ignored): report
                # only that, rather than what validating a wrong value would find.
                problems.extend(dict.fromkeys(builder.problems))
                continue
            docs.append(doc)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problems.append(Problem(name, line, col, _syntax(exc, text), "yaml-syntax"))
    except yaml.YAMLError as exc:
        problems.append(Problem(name, 1, 1, f"YAML error: {exc}", "yaml-syntax"))
    return docs, problems


_DOC_MARKER = re.compile(r"^(?:---|\.\.\.)(?=[ \t\r\n]|$)", re.MULTILINE)


def _shallow(text: str) -> bool:
    """A cheap upper bound: True when no document of `text` can nest past SAFE_DEPTH.

    Nesting takes at least a character a level, so a short document is shallow. In a longer
    one, block collections nest only by starting further right (at most two levels a
    column), and flow collections only by opening a bracket."""
    if len(text) <= SAFE_DEPTH:
        return True
    for part in _DOC_MARKER.split(text):
        if len(part) <= SAFE_DEPTH:
            continue
        longest = max(map(len, part.split("\n")))
        if part.count("[") + part.count("{") + 2 * longest + 2 > SAFE_DEPTH:
            return False
    return True


def _too_deep(text: str, name: str) -> Problem | None:
    """The first place where `text` nests past MAX_DEPTH, found without composing it (the
    composer recurses in C, and thousands of levels would crash the process)."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_Loader):
            kind = type(event)
            if kind is yaml.SequenceStartEvent or kind is yaml.MappingStartEvent:
                depth += 1
                if depth > MAX_DEPTH + 1:
                    mark = event.start_mark
                    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
                    return _deep(name, line, col)
            elif kind is yaml.SequenceEndEvent or kind is yaml.MappingEndEvent:
                depth -= 1
    except yaml.MarkedYAMLError as exc:
        # Newer libyaml refuses deep nesting itself, scanning ahead of the events above:
        # the same problem, reported in our words at the place it names.
        if "nesting depth" not in str(exc.problem or ""):
            raise
        mark = exc.problem_mark
        return _deep(name, *((mark.line + 1, mark.column + 1) if mark else (1, 1)))
    return None


def _deep(name: str, line: int, col: int) -> Problem:
    return Problem(
        name,
        line,
        col,
        f"lists and mappings nest more than {MAX_DEPTH} levels deep here; refusing to load it",
        "yaml-depth",
    )


def _syntax(exc: yaml.MarkedYAMLError, text: str) -> str:
    """PyYAML's error as one line: what went wrong, and where the construct it was in began."""
    what = exc.problem or exc.context or "invalid YAML"
    mark, cmark = exc.problem_mark, exc.context_mark
    lines = text.split("\n")
    at = lines[mark.line][mark.column :] if mark and mark.line < len(lines) else ""
    if at.startswith("\t"):
        return "YAML syntax error: tab character; YAML indentation must use spaces"
    if what == "found undefined alias" and at.startswith("*"):
        name = re.split(r"[\s,\[\]{}]", at[1:], maxsplit=1)[0]
        return f"YAML syntax error: alias *{name} names no anchor (&{name}) defined before it"
    if exc.problem and exc.context and cmark and mark and cmark.line != mark.line:
        return f"YAML syntax error: {what} ({exc.context} at line {cmark.line + 1})"
    return f"YAML syntax error: {what}"


def roots(paths: list[str]) -> list[Path]:
    """The workspace the PATHs name: each directory, a file PATH meaning its directory.
    Real paths above each one (a linked /tmp), the PATH's own name as given: a PATH that
    is itself a link to elsewhere does not widen the workspace to wherever it points."""
    out = []
    for raw in paths:
        path = Path(raw)
        base = path if path.is_dir() else path.parent
        absolute = Path(os.path.abspath(base))
        out.append(Path(os.path.realpath(absolute.parent)) / absolute.name)
    return out


def outside(path: Path, workspace: list[Path]) -> Problem | None:
    """A problem naming `path` when it resolves (through a symlink) outside every
    directory of `workspace`. Nothing of the target is read or shown: the link may point
    at a runner's credentials."""
    real = Path(os.path.realpath(path))
    if any(real == root or root in real.parents for root in workspace):
        return None
    message = (
        "is a symbolic link (or lies under one) that resolves outside the workspace: "
        "not read; keep manifests and the config inside the directories given"
    )
    return Problem(str(path), 1, 1, message, "symlink")
