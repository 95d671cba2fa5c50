"""JSON Schema validation of located YAML documents, with errors that point at the source.

Schemas are composed when loaded: a kind's schema comes from its vendor, with the vendor's
words filled in for `{"x-vocabulary": name}`; the core's config and plan schemas get the
registry's provider types, kinds and prune words the same way, and the config schema
every vendor's own provider settings (its `config.schema.json` fragment).
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.core.errors import Problem
from reconciler.core.ids import IdFormat
from reconciler.core.yamlload import Located
from reconciler.governance import guards
from reconciler.plugin.registry import cached, kind_types, providers, prune_keys, vendors

if TYPE_CHECKING:
    # jsonschema is imported when a validator is first made (start-up time: `--help` and
    # the commands that validate nothing never load it).
    from jsonschema.exceptions import ValidationError

SCHEMA_DIR = Path(__file__).resolve().parents[1] / "_schemas"
"""The core's schemas (config, plan); the repository's top-level schemas/ links here."""


def _enum(validator: Any, enums: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
    # jsonschema compares each option in Python; a string against a list of strings is
    # a plain membership test (the permission enum has 59 options and runs per item).
    if isinstance(instance, str) and instance in enums:
        return
    from jsonschema import Draft202012Validator

    yield from Draft202012Validator.VALIDATORS["enum"](validator, enums, instance, schema)


@cached
def _validator_class() -> Any:
    """Draft 2020-12 with the fast `enum` above."""
    from jsonschema import Draft202012Validator, validators

    return validators.extend(Draft202012Validator, {"enum": _enum})


def schema_path(name: str) -> Path:
    """The config and plan schemas are the core's; a kind's comes with its vendor."""
    core = SCHEMA_DIR / f"{name}.schema.json"
    if core.is_file():
        return core
    for vendor in vendors().values():
        path = vendor.kind_schema(name)
        if path.is_file():
            return path
    return core


def kinds() -> list[str]:
    """Every kind some installed vendor has a schema for, and the core's own (`Person`)."""
    return sorted(
        p.name.removesuffix(".schema.json")
        for folder in (SCHEMA_DIR, *(v.schemas for v in vendors().values()))
        for p in folder.glob("[A-Z]*.schema.json")
    )


VOCABULARY = "x-vocabulary"


@cached
def schema(name: str) -> dict[str, Any]:
    """The schema `name` as validation uses it, composed from the registry."""
    path = schema_path(name)
    raw = json.loads(path.read_text())
    for vendor in vendors().values():
        if path == vendor.kind_schema(name):
            # A kind's envelope (`metadata.allow`) names the core's guard rules.
            return _fill(raw, {"guard-rules": _guard_rules(), **vendor.words()})
    if name == "config":
        # The file leaves provider settings open for editors; here they close over the core's
        # and every vendor's own.
        provider = raw["$defs"]["provider"]
        for vtype in sorted(vendors()):
            provider["properties"].update(_settings(vtype))
        provider["additionalProperties"] = False
    return _fill(raw, _core_words())


def _core_words() -> dict[str, Sequence[str]]:
    return {
        "provider-types": sorted(vendors()),
        "kinds": sorted(kind_types()),
        "prune": prune_keys(),
        "guard-rules": _guard_rules(),
        "admin-permissions": _admin_permissions(),
    }


def _guard_rules() -> Sequence[str]:
    return guards.RULES


def _admin_permissions() -> Sequence[str]:
    return guards.admin_vocabulary()


def _fill(node: Any, words: dict[str, Sequence[str]]) -> Any:
    """`node` with every `{"x-vocabulary": name, ...}` turned into `{"enum": words, ...}`."""
    if isinstance(node, list):
        return [_fill(n, words) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _fill(v, words) for k, v in node.items() if k != VOCABULARY}
    if VOCABULARY in node:
        out["enum"] = list(words[node[VOCABULARY]])
    return out


@cached
def _settings(vtype: str) -> dict[str, Any]:
    path = vendors()[vtype].settings_schema()
    if not path.is_file():
        return {}
    properties: dict[str, Any] = json.loads(path.read_text()).get("properties", {})
    return properties


def provider_settings(vtype: str) -> frozenset[str]:
    """The settings only providers of type `vtype` have (its vendor's config fragment)."""
    return frozenset(_settings(vtype))


@cached
def core_provider_settings() -> frozenset[str]:
    """The settings every provider has, whatever its type."""
    raw = json.loads(schema_path("config").read_text())
    return frozenset(raw["$defs"]["provider"]["properties"])


@cached
def validator(name: str) -> Any:
    return _validator_class()(schema(name))


@cached
def _id_formats() -> dict[str, IdFormat]:
    return {cls.ID_FORMAT.pattern: cls.ID_FORMAT for cls in providers().values()}


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
        elif "propertyNames" in err.relative_schema_path and isinstance(err.instance, str):
            # A mapping key outside the allowed names (`metadata.allow`): at the key itself.
            problems.append(doc.problem((*path, err.instance), describe(err), "schema", True))
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
        id_format = _id_formats().get(str(err.validator_value))
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
        return f"unknown {_item_of(err)} {err.instance!r}{hint}"
    return f"{err.instance!r} is not one of {', '.join(options)}{hint}"


def _item_of(err: ValidationError) -> str:
    """What one item of a list is called ("permission" in `permissions.3`), else "value"."""
    path = list(err.absolute_path)
    if len(path) >= 2 and isinstance(path[-1], int) and isinstance(path[-2], str):
        return path[-2].removesuffix("s")
    return "value"


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
    # The keys that tell the alternatives apart: not those every alternative requires.
    subs = err.validator_value
    common = set.intersection(*(set(sub.get("required", [])) for sub in subs)) if subs else set()
    keys = [r for sub in subs for r in sub.get("required", []) if r not in common]
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
