"""Credentials never leave the process: one function masks every registered one, in every form.

`register(value)` records a credential in each form it can take on the wire or in a
message: raw, `Bearer v`, HTTP Basic (`base64(v:)` with an empty password, and
`base64(v)`), percent-encoded, and as JSON or our text escaping would show it. `redact(text)`
replaces each with `***`, including a prefix of at least `MIN_PREFIX` characters (a
vendor that echoes a token cut short), so no part of one that long is ever shown.
It runs on provider error messages, every log record (tracebacks included) and every
line the CLI prints.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import urllib.parse

from reconciler.core import escape

MASK = "***"
MIN_PREFIX = 12
"""A form longer than this is also masked where only its first MIN_PREFIX+ chars appear."""

_lock = threading.Lock()
_forms: tuple[str, ...] = ()


def _variants(value: str) -> set[str]:
    forms = {value, f"Bearer {value}"}
    for raw in (f"{value}:", value):
        b64 = base64.b64encode(raw.encode("utf-8", "surrogatepass")).decode()
        forms |= {b64, f"Basic {b64}", b64.replace("+", "-").replace("/", "_")}
    forms |= {
        urllib.parse.quote(value, safe=""),
        urllib.parse.quote_plus(value),
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        escape.text(value),
    }
    return {f for f in forms if f}


def register(value: str | None) -> None:
    """Mask `value` (and its stripped form) from now on, in every form."""
    global _forms
    if not value:
        return
    new: set[str] = set()
    for v in {value, value.strip()}:
        if v:
            new |= _variants(v)
    with _lock:
        # Longest first: a form never leaves a piece of a longer one behind.
        _forms = tuple(sorted(set(_forms) | new, key=lambda f: (-len(f), f)))


def redact(text: str) -> str:
    """`text` with every registered credential, and every long prefix of one, masked."""
    forms = _forms
    if not forms or not text:
        return text
    # Whole forms first (longest first), then what is left of a long one cut short.
    for form in forms:
        if form in text:
            text = text.replace(form, MASK)
    for form in forms:
        if len(form) <= MIN_PREFIX:
            continue
        head = form[:MIN_PREFIX]
        i = text.find(head)
        while i != -1:
            end, limit = i + MIN_PREFIX, min(len(text), i + len(form))
            while end < limit and text[end] == form[end - i]:
                end += 1
            text = text[:i] + MASK + text[end:]
            i = text.find(head, i + len(MASK))
    return text


class RedactFilter(logging.Filter):
    """Masks credentials in a record's message and traceback before any handler sees it."""

    _plain = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        if _forms:
            try:
                message = record.getMessage()
            except (TypeError, ValueError):
                message = f"{record.msg} {record.args}"
            record.msg, record.args = redact(message), None
            if record.exc_info and not record.exc_text:
                record.exc_text = self._plain.formatException(record.exc_info)
            if record.exc_text:
                record.exc_text = redact(record.exc_text)
            if record.stack_info:
                record.stack_info = redact(record.stack_info)
        return True


class RedactingFormatter(logging.Formatter):
    """The final text of a record, traceback included: credentials masked, and no line
    that GitHub would take for a workflow command."""

    def format(self, record: logging.LogRecord) -> str:
        return escape.lines(redact(super().format(record)))


REDACT = RedactFilter()


def install() -> None:
    """Mask credentials in every handler of the root logger."""
    for handler in logging.getLogger().handlers:
        handler.addFilter(REDACT)
