"""YAML loading on its own: where every node is, and the files it refuses, with no CLI."""

from __future__ import annotations

from pathlib import Path

from reconciler.core.errors import Problem
from reconciler.core.yamlload import Located, load_file, load_text


def one(text: str) -> Located:
    docs, problems = load_text(text, "f.yaml")
    assert problems == [] and len(docs) == 1
    return docs[0]


def refused(text: str) -> list[str]:
    docs, problems = load_text(text, "f.yaml")
    assert docs == [] and problems
    return [f"{p.line}:{p.column} {p.rule}: {p.message}" for p in problems]


MANIFEST = """\
apiVersion: reconciler/v1
kind: KlipfolioRole
spec:
  name: Analysts
  permissions:
    - dashboard.view
    - {name: x, extra: [1, 2]}
"""


def test_scalars_are_located_at_their_value_and_collections_at_their_key() -> None:
    doc = one(MANIFEST)
    assert doc.value["spec"]["permissions"][1] == {"name": "x", "extra": [1, 2]}
    assert doc.where(()) == (1, 1)
    assert doc.where(("kind",)) == (2, 7)
    assert doc.where(("spec",)) == (3, 1)
    assert doc.where(("spec", "name")) == (4, 9)
    assert doc.where(("spec", "permissions")) == (5, 3)
    assert doc.where(("spec", "permissions", 0)) == (6, 7)
    assert doc.where(("spec", "permissions", 1, "name")) == (7, 14)
    assert doc.where(("spec", "permissions", 1, "extra", 1)) == (7, 28)


def test_keys_have_their_own_location() -> None:
    doc = one(MANIFEST)
    assert doc.keys[("spec", "name")] == (4, 3)
    assert doc.keys[("spec", "permissions", 1, "extra")] == (7, 17)


def test_an_unlocated_path_falls_back_to_its_nearest_parent() -> None:
    doc = one(MANIFEST)
    assert doc.where(("spec", "name", "no", "such")) == (4, 9)
    assert doc.where(("nowhere",)) == (1, 1)


def test_a_problem_points_at_the_value_or_with_at_key_at_the_key() -> None:
    doc = one(MANIFEST)
    assert doc.problem(("spec", "name"), "bad", "schema") == Problem(
        "f.yaml", 4, 9, "bad", "schema"
    )
    at_key = doc.problem(("spec", "name"), "bad", "schema", at_key=True)
    assert (at_key.line, at_key.column) == (4, 3)


def test_multi_document_files_keep_each_documents_own_lines() -> None:
    docs, problems = load_text("a: 1\n---\nb: [x, {c: 2}]\n", "f.yaml")
    assert problems == []
    assert [d.value for d in docs] == [{"a": 1}, {"b": ["x", {"c": 2}]}]
    assert docs[0].where(("a",)) == (1, 4)
    assert docs[1].where(()) == (3, 1)
    assert docs[1].where(("b", 1, "c")) == (3, 12)


def test_an_empty_file_has_no_documents_and_an_empty_document_is_null() -> None:
    assert load_text("", "f.yaml") == ([], [])
    assert load_text("# only a comment\n", "f.yaml") == ([], [])
    docs, problems = load_text("---\n---\na: 1\n", "f.yaml")
    assert problems == [] and [d.value for d in docs] == [None, {"a": 1}]


def test_a_bad_document_is_reported_and_the_others_still_load() -> None:
    docs, problems = load_text("a: 1\n---\nb: 1\nb: 2\n---\nc: 3\n", "f.yaml")
    assert [d.value for d in docs] == [{"a": 1}, {"c": 3}]
    assert [(p.line, p.rule) for p in problems] == [(4, "duplicate-key")]


def test_duplicate_keys_name_the_first_line() -> None:
    assert refused("a: 1\nb:\n  c: 1\n  c: 2\na: 3\n") == [
        "4:3 duplicate-key: duplicate key 'c' (first at line 3)",
        "5:1 duplicate-key: duplicate key 'a' (first at line 1)",
    ]


def test_aliases_expand_and_point_at_the_anchor() -> None:
    doc = one("x: &A {k: 1}\ny: *A\n")
    assert doc.value == {"x": {"k": 1}, "y": {"k": 1}}
    assert doc.where(("y",)) == (2, 1)
    assert doc.where(("y", "k")) == (1, 11)


def test_merge_keys_lose_to_keys_written_out() -> None:
    doc = one("base: &B {k: 1, j: 2}\nuse:\n  <<: *B\n  k: 3\n")
    assert doc.value["use"] == {"k": 3, "j": 2}


def test_an_undefined_alias_is_named() -> None:
    assert refused("a: *nope\n") == [
        "1:4 yaml-syntax: YAML syntax error: alias *nope names no anchor (&nope) defined before it"
    ]


def test_plain_tags_work_and_others_are_refused_where_they_are() -> None:
    assert one("a: !!str 12\nb: !!int '7'\n").value == {"a": "12", "b": 7}
    assert refused("a: 1\nb: !foo bar\n") == ["2:4 yaml-tag: unsupported YAML tag !foo"]
    assert refused("a: !!python/object:os.system x\n") == [
        "1:4 yaml-tag: unsupported YAML tag !!python/object:os.system"
    ]


def test_values_that_are_not_what_their_tag_says_are_refused() -> None:
    assert refused("a: !!int abc\n") == [
        "1:4 yaml-tag: 'abc' is not a valid !!int value (quote it if it is meant as text)"
    ]
    assert refused("a: 2001-13-45\n")[0].startswith("1:4 yaml-tag: '2001-13-45' is not a valid")
    assert refused("a: .nan\n")[0].startswith("1:4 yaml-tag: '.nan' is not a valid !!float")


def test_syntax_errors_are_one_line_at_their_place() -> None:
    assert refused("a:\n\t- b\n") == [
        "2:1 yaml-syntax: YAML syntax error: tab character; YAML indentation must use spaces"
    ]
    (unclosed,) = refused("a: [1\n")
    assert unclosed.startswith("2:1 yaml-syntax: YAML syntax error: ")
    assert "(while parsing a flow sequence at line 1)" in unclosed
    assert refused("? [1]\n: 2\n") == [
        "1:3 yaml-syntax: a mapping key must be a plain value, not a list or mapping"
    ]


def test_non_utf8_file_names_the_byte_and_its_place(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("a: 1\nname: caf\xe9\n".encode("latin-1"))
    docs, problems = load_file(path)
    assert docs == []
    assert problems == [
        Problem(
            str(path),
            2,
            10,
            "file is not valid UTF-8 text (byte 0xe9); save it as UTF-8",
            "encoding",
        )
    ]


def test_utf8_file_loads_with_its_name(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text("name: café\n---\nb: 2\n", encoding="utf-8")
    docs, problems = load_file(path)
    assert problems == []
    assert [d.file for d in docs] == [str(path), str(path)]
    assert docs[0].value == {"name": "café"}


def test_unreadable_file_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    docs, problems = load_file(tmp_path / "missing.yaml")
    assert docs == [] and [p.rule for p in problems] == ["unreadable"]


def test_deep_nesting_is_refused_at_its_place() -> None:
    (problem,) = refused("a: " + "[" * 150 + "]" * 150 + "\n")
    assert problem.startswith("1:") and "yaml-depth" in problem
