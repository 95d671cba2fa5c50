"""Values from manifests and APIs are data: one place escapes them for each output format.

- `text`: control characters (C0, DEL, C1), bidi controls and line/paragraph separators
  shown as `\\n`, `\\x1b`, `\\u202e`, so no value can start a line, move the cursor or
  reorder what a terminal shows. Backslashes are kept, so escaping twice changes nothing.
- `markdown`: `text`, then HTML and markdown punctuation escaped, for table cells and
  paragraphs of a pull-request comment; `html` for raw HTML (`<summary>`).
- `github_data`, `github_property`: GitHub's workflow-command escaping.
- `lines`: text that may span lines (error messages, tracebacks): each line escaped, and
  no line may start with `::` (a GitHub workflow command), whitespace ignored as the
  runner ignores it.
- Everywhere (`no_commands`, `github_data`): `##[`, which the Actions runner honours
  anywhere in a line (`##[add-mask]`, `##[stop-commands]`), is written `#\\u0023[`: the
  same text to a JSON reader, readable to anyone else, and no longer a command.
"""

from __future__ import annotations

import re

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# C0, DEL, C1; zero-width and bidi marks, bidi embeddings, overrides and isolates;
# line/paragraph separators; the BOM; lone surrogates (JSON can carry them, no output can).
_CONTROL = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ud800-\udfff]"
)
_CONTROL_BUT_NEWLINE = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ud800-\udfff]"
)
_SURROGATE = re.compile("[\ud800-\udfff]")
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|~:@$])")
# What GitHub's runner takes as a line break, then the whitespace it trims.
_COMMAND = re.compile("(?:^|(?<=[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]))(\\s*):(?=:)")
MARKER = "##["
"""The runner's older command syntax, honoured wherever it appears in a line."""
NEUTRAL_MARKER = "#\\u0023["
"""`MARKER` as written: a JSON escape (valid inside every JSON string, where a value's
`##[` can only be), and plain to read in text, CSV and HTML."""


def _one(match: re.Match[str]) -> str:
    ch = match.group()
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def text(value: object) -> str:
    """One line of plain text: every control character shown escaped."""
    return _CONTROL.sub(_one, str(value))


def html(value: object) -> str:
    """For raw HTML (inside `<summary>`, `<code>`): text, then &, <, >, quotes."""
    return (
        text(value)
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#39;")
    )


def markdown(value: object) -> str:
    """For markdown text (table cells, paragraphs): no value can be markup or a new line."""
    escaped = _MARKDOWN.sub(r"\\\1", text(value))
    return escaped.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def surrogates(block: str) -> str:
    """Lone surrogates (which no encoding can write) as `\\ud800`: the same character to
    a JSON reader, readable text to anyone else; everything else kept as is."""
    return _SURROGATE.sub(_one, block)


def github_data(value: object) -> str:
    """The message of a workflow command (after `::`): no `##[` either."""
    data = str(value).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return no_markers(data)


def github_property(value: object) -> str:
    """A property value of a workflow command (`file=...`)."""
    return github_data(value).replace(":", "%3A").replace(",", "%2C")


def no_markers(block: str) -> str:
    """`##[` anywhere in `block` written as `NEUTRAL_MARKER`."""
    return block.replace(MARKER, NEUTRAL_MARKER) if MARKER in block else block


def no_commands(block: str) -> str:
    """Escape the first `:` of any line that would start a GitHub workflow command, and
    every `##[` wherever it is in a line."""
    block = no_markers(block)
    if "::" not in block:
        return block
    return _COMMAND.sub(r"\1\\x3a", block)


def lines(value: object) -> str:
    """Text that may span lines: each line escaped, none a workflow command."""
    return no_commands(_CONTROL_BUT_NEWLINE.sub(_one, str(value)))
