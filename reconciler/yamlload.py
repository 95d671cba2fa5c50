"""YAML loading that keeps the file, line and column of every node."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from reconciler.errors import Problem

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_NODES = 200_000  # after alias expansion: stops "billion laughs" documents

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

PathKey = tuple[str | int, ...]


@dataclass
class Located:
    """One YAML document as plain values plus the location of every node."""

    file: str
    value: Any
    lines: dict[PathKey, tuple[int, int]] = field(default_factory=dict)

    def where(self, path: PathKey) -> tuple[int, int]:
        """Line and column of the node at `path`, or of its nearest located parent."""
        p = tuple(path)
        while p not in self.lines and p:
            p = p[:-1]
        return self.lines.get(p, (1, 1))

    def problem(self, path: PathKey, message: str, rule: str) -> Problem:
        line, col = self.where(path)
        return Problem(self.file, line, col, message, rule)


class _Builder:
    def __init__(self, doc: Located) -> None:
        self.doc = doc
        self.count = 0
        self.problems: list[Problem] = []

    def build(self, node: yaml.Node, path: PathKey) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise _TooBig(node)
        self.doc.lines.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in _merged(node):
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
                    continue
                key = _scalar(key_node)
                if key is None:
                    key = str(key)
                if key in out:
                    first, _ = self.doc.lines.get((*path, key), (line, col))
                    self.problems.append(
                        Problem(
                            self.doc.file,
                            line,
                            col,
                            f"duplicate key {key!r} (first at line {first}); "
                            "YAML would silently keep only the last",
                            "duplicate-key",
                        )
                    )
                    continue
                child = (*path, key)
                # A scalar is located at its value (what a schema error is about); a list or
                # mapping at its key, since a block collection starts on the next line.
                if not isinstance(value_node, yaml.ScalarNode):
                    self.doc.lines[child] = (line, col)
                out[key] = self.build(value_node, child)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(n, (*path, i)) for i, n in enumerate(node.value)]
        return _scalar(node)


class _TooBig(Exception):
    def __init__(self, node: yaml.Node) -> None:
        self.node = node


def _merged(node: yaml.MappingNode) -> list[tuple[yaml.Node, yaml.Node]]:
    pairs: list[tuple[yaml.Node, yaml.Node]] = []
    for k, v in node.value:
        if k.tag == "tag:yaml.org,2002:merge":
            sources = v.value if isinstance(v, yaml.SequenceNode) else [v]
            for src in sources:
                if isinstance(src, yaml.MappingNode):
                    pairs.extend(_merged(src))
        else:
            pairs.append((k, v))
    return pairs


_constructor = yaml.SafeLoader("")


def _scalar(node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return _constructor.construct_object(node, deep=True)
    return None


def load_file(path: Path) -> tuple[list[Located], list[Problem]]:
    """Every document of one YAML file, or the problems that stop it loading."""
    name = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return [], [
                Problem(name, 1, 1, f"file is {size} bytes, over the 5 MB limit", "file-too-large")
            ]
        raw = path.read_bytes()
    except OSError as exc:
        return [], [Problem(name, 1, 1, f"cannot read file: {exc.strerror}", "unreadable")]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        return [], [Problem(name, line, col, "file is not valid UTF-8 text", "encoding")]
    return load_text(text, name)


def load_text(text: str, name: str) -> tuple[list[Located], list[Problem]]:
    docs: list[Located] = []
    problems: list[Problem] = []
    try:
        for node in yaml.compose_all(text, Loader=_Loader):
            if node is None:
                continue
            doc = Located(name, None)
            builder = _Builder(doc)
            try:
                doc.value = builder.build(node, ())
            except _TooBig as big:
                mark = big.node.start_mark
                problems.append(
                    Problem(
                        name,
                        node.start_mark.line + 1,
                        node.start_mark.column + 1,
                        f"document expands to more than {MAX_NODES} nodes "
                        f"(aliases near line {mark.line + 1}); refusing to load it",
                        "alias-bomb",
                    )
                )
                continue
            problems.extend(builder.problems)
            docs.append(doc)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = exc.problem or exc.context or "invalid YAML"
        problems.append(Problem(name, line, col, f"YAML syntax error: {what}", "yaml-syntax"))
    except yaml.YAMLError as exc:
        problems.append(Problem(name, 1, 1, f"YAML error: {exc}", "yaml-syntax"))
    return docs, problems
