"""JSON Schema validation of located YAML documents, with errors that point at the source."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterator
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError

from reconciler.errors import Problem
from reconciler.ids import format_for_pattern
from reconciler.registry import vendors
from reconciler.yamlload import Located


def _schema_dir() -> Path:
    """The repository's schemas/ in a checkout; the copy inside the package in a wheel."""
    checkout = Path(__file__).resolve().parent.parent / "schemas"
    if checkout.is_dir():
        return checkout
    return Path(__file__).resolve().parent / "_schemas"


SCHEMA_DIR = _schema_dir()


def _enum(validator: Any, enums: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
    # jsonschema compares each option in Python; a string against a list of strings is
    # a plain membership test (the permission enum has 59 options and runs per item).
    if isinstance(instance, str) and instance in enums:
        return
    yield from _BASE_ENUM(validator, enums, instance, schema)


_BASE_ENUM = Draft202012Validator.VALIDATORS["enum"]
_Validator = validators.extend(Draft202012Validator, {"enum": _enum})


def schema_path(name: str) -> Path:
    """A kind's schema comes with its vendor; the config and plan schemas are the core's."""
    for vendor in vendors().values():
        path = vendor.kind_schema(name)
        if path.is_file():
            return path
    return SCHEMA_DIR / f"{name}.schema.json"


def kinds() -> list[str]:
    """Every kind some installed vendor has a schema for."""
    return sorted(
        p.name.removesuffix(".schema.json")
        for v in vendors().values()
        for p in v.schemas.glob("[A-Z]*.schema.json")
    )


@cache
def validator(name: str) -> Any:
    schema = json.loads(schema_path(name).read_text())
    return _Validator(schema)


def validate_against(name: str, doc: Located, base: tuple[Any, ...] = ()) -> list[Problem]:
    """Every schema violation of `doc` (or of the node at `base`), each at its line."""
    value = doc.value
    for key in base:
        value = value[key]
    problems = []
    errors = list(validator(name).iter_errors(value))
    for err in errors:
        path = (*base, *err.absolute_path)
        if err.validator == "additionalProperties":
            # One problem per unknown field, at the field itself.
            for key, message in _unknown_fields(err):
                message = _prefix(err.absolute_path) + message
                problems.append(doc.problem((*path, key), message, "schema", at_key=True))
        elif not _explained_by_typo(err, errors):
            problems.append(doc.problem(path, describe(err), "schema"))
    return problems


def _prefix(path: Any) -> str:
    where = ".".join(str(p) for p in path)
    return f"{where}: " if where else ""


def describe(err: ValidationError) -> str:
    prefix = _prefix(err.absolute_path)
    if err.validator == "enum":
        return prefix + _not_one_of(err, [str(o) for o in err.validator_value])
    if err.validator == "additionalProperties":
        return prefix + "; ".join(m for _, m in _unknown_fields(err))
    if err.validator == "required":
        missing = err.message.split("'")[1] if "'" in err.message else err.message
        return f"{prefix}missing required field {missing!r}"
    if err.validator == "oneOf" and isinstance(err.instance, dict):
        return f"{prefix}{_one_of_hint(err)}"
    if err.validator == "type":
        wanted = (
            err.validator_value if isinstance(err.validator_value, list) else [err.validator_value]
        )
        names = " or ".join(_SCHEMA_TYPES.get(str(t), str(t)) for t in wanted)
        got = type_name(err.instance)
        hint = ""
        if "string" in wanted and isinstance(err.instance, bool | int | float | date):
            hint = " (quote it to keep it as text)"
        return f"{prefix}expected {names}, got {got}{hint}"
    if err.validator == "const":
        return f"{prefix}expected {err.validator_value!r}, got {err.instance!r}"
    if err.validator == "anyOf" and err.schema.get("description"):
        # A range with a hole (a rate limit is 0 or at least 0.1): the description says it.
        return f"{prefix}{err.instance!r} is out of range ({err.schema['description']})"
    if err.validator == "minLength" and err.validator_value == 1:
        return f"{prefix}must not be empty"
    if err.validator == "pattern":
        id_format = format_for_pattern(str(err.validator_value))
        if id_format is not None:
            return f"{prefix}{err.instance!r} is not {id_format.label}"
        options = _alternatives(err.validator_value)
        if options:
            return prefix + _not_one_of(err, options)
        if str(err.absolute_path[-1] if err.absolute_path else "").endswith("_env"):
            return (
                f"{prefix}{err.instance!r} is not a valid environment variable name "
                "(upper-case letters, digits and _)"
            )
        if err.schema.get("format") == "email":
            return f"{prefix}{err.instance!r} is not a valid email address"
        about = str(err.schema.get("description", "")).split(";")[0].split(". ")[0].rstrip(".")
        if about:
            return f"{prefix}{err.instance!r} is not valid: expected {about}"
        return f"{prefix}{err.instance!r} is not valid here (must match {err.validator_value})"
    return f"{prefix}{err.message}"


def _not_one_of(err: ValidationError, options: list[str]) -> str:
    lowered = {o.lower(): o for o in options}
    close = difflib.get_close_matches(str(err.instance).lower(), list(lowered), n=1, cutoff=0.6)
    hint = f"; did you mean {lowered[close[0]]!r}?" if close else ""
    if len(options) > 15 or (len(options) > 8 and close):
        what = "permission" if "permissions" in list(err.absolute_path) else "value"
        return f"unknown {what} {err.instance!r}{hint}"
    return f"{err.instance!r} is not one of {', '.join(options)}{hint}"


def _alternatives(pattern: str) -> list[str]:
    """The words of a case-insensitive choice pattern such as ^([vV][iI][eE][wW]|...)$."""
    match = re.fullmatch(r"\^\((.*)\)\$", pattern)
    if not match:
        return []
    words = []
    for alt in match.group(1).split("|"):
        pairs = re.findall(r"\[(.)(.)\]", alt)
        if not pairs or "".join(f"[{a}{b}]" for a, b in pairs) != alt:
            return []
        words.append("".join(a.lower() for a, _ in pairs))
    return words


def _unknown_fields(err: ValidationError) -> list[tuple[str, str]]:
    known = list(err.schema.get("properties", {}))
    out = []
    for name in sorted(set(err.instance) - set(known), key=str):
        close = difflib.get_close_matches(str(name), known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        out.append((name, f"unknown field {name!r}{hint}"))
    return out


def _explained_by_typo(err: ValidationError, errors: list[ValidationError]) -> bool:
    """A missing field that is only a misspelt unknown field nearby: one problem, not two."""
    if err.validator != "required" or "'" not in err.message:
        return False
    missing = err.message.split("'")[1]
    for other in errors:
        if other.validator == "additionalProperties" and other.absolute_path == err.absolute_path:
            known = list(other.schema.get("properties", {}))
            for name in set(other.instance) - set(known):
                if difflib.get_close_matches(str(name), known, n=1) == [missing]:
                    return True
    return False


_SCHEMA_TYPES = {"array": "list", "object": "mapping"}


def _one_of_hint(err: ValidationError) -> str:
    keys = [
        r
        for sub in err.validator_value
        for r in sub.get("required", [])
        if r not in ("can_manage",)
    ]
    keys = list(dict.fromkeys(keys))
    if keys:
        return f"give exactly one of {', '.join(keys)}"
    return err.message


def type_name(value: Any) -> str:
    return {
        bool: "boolean",
        int: "integer",
        float: "number",
        str: "string",
        list: "list",
        dict: "mapping",
        type(None): "null",
    }.get(type(value), "date" if isinstance(value, date) else type(value).__name__)
