"""JSON Schema validation of located YAML documents, with errors that point at the source."""

from __future__ import annotations

import difflib
import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from reconciler.errors import Problem
from reconciler.yamlload import Located

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"


@cache
def validator(name: str) -> Draft202012Validator:
    schema = json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text())
    return Draft202012Validator(schema)


def validate_against(name: str, doc: Located, base: tuple[Any, ...] = ()) -> list[Problem]:
    """Every schema violation of `doc` (or of the node at `base`), each at its line."""
    value = doc.value
    for key in base:
        value = value[key]
    problems = []
    for err in validator(name).iter_errors(value):
        path = (*base, *err.absolute_path)
        problems.append(doc.problem(path, describe(err), "schema"))
    return problems


def describe(err: ValidationError) -> str:
    where = ".".join(str(p) for p in err.absolute_path)
    prefix = f"{where}: " if where else ""
    if err.validator == "enum":
        options = [str(o) for o in err.validator_value]
        close = difflib.get_close_matches(str(err.instance), options, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        if len(options) > 8:
            path = list(err.absolute_path)
            what = "permission" if "permissions" in path else "value"
            return f"{prefix}unknown {what} {err.instance!r}{hint}"
        return f"{prefix}{err.instance!r} is not one of {', '.join(options)}{hint}"
    if err.validator == "additionalProperties":
        extra = sorted(set(err.instance) - set(err.schema.get("properties", {})))
        options = list(err.schema.get("properties", {}))
        hints = []
        for name in extra:
            close = difflib.get_close_matches(name, options, n=1)
            hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        return f"{prefix}unknown field {', '.join(hints)}"
    if err.validator == "required":
        missing = err.message.split("'")[1] if "'" in err.message else err.message
        return f"{prefix}missing required field {missing!r}"
    if err.validator == "oneOf" and isinstance(err.instance, dict):
        return f"{prefix}{_one_of_hint(err)}"
    if err.validator == "type":
        return f"{prefix}expected {err.validator_value}, got {_type_name(err.instance)}"
    if err.validator == "pattern":
        return f"{prefix}{err.instance!r} is not valid here (must match {err.validator_value})"
    return f"{prefix}{err.message}"


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


def _type_name(value: Any) -> str:
    return {
        bool: "boolean",
        int: "integer",
        float: "number",
        str: "string",
        list: "list",
        dict: "mapping",
        type(None): "null",
    }.get(type(value), type(value).__name__)
