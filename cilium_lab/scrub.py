"""The one scrubber every output goes through: credentials never reach a file, a notebook, a page or a terminal.

Removes what a kubeconfig, an API server or an error message can carry: the user:password part of a URL
(`https://user:pw@host` -> `https://***@host`), bearer tokens, JWT-shaped strings, PEM blocks, the
base64 of a PEM block, and the values of credential keys (`token`, `password`, `client-key-data`,
`client-certificate-data`, `certificate-authority-data`, `id-token`, `secret`, ...) whether written as
YAML (`token: x`), JSON (`"token": "x"`, also HTML-escaped), or a query parameter (`?token=x&password=y`).
`scrub` works on text; `scrub_data` walks dicts and lists (a credential key's value is replaced whole)
and keeps JSON valid; `dumps` is `json.dumps` of the scrubbed data.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REDACTED = "[REDACTED]"

# keys whose values are credentials (kubeconfig users[].user, auth-provider config, query parameters)
_KEY_NAMES = (
    r"client-key-data|client-certificate-data|certificate-authority-data|client[-_]?key|client[-_]?secret"
    r"|[a-z_-]*token|password|passwd|secret|api[-_]?key"
)
SECRET_KEY = re.compile(rf"(?i)^(?:{_KEY_NAMES})$")
_QUOTE = r"(?:[\"']|&quot;|&#34;|&#39;|\\\")?"
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # PEM blocks, also inside JSON strings where the newlines are "\n"
    (
        re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----.*?-----END [A-Z0-9 ]+-----", re.S),
        r"-----BEGIN \1----- " + REDACTED + r" -----END \1-----",
    ),
    (re.compile(r"LS0tLS1CRUdJTi[A-Za-z0-9+/=]*"), REDACTED),  # base64 of "-----BEGIN"
    # scheme://user:password@host (and scheme://token@host)
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@\"'<>\\]+@"), r"\1***@"),
    (re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]+"), r"\1" + REDACTED),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"), REDACTED),  # JWTs
    # key: value, key=value, "key": "value", ?key=value
    (
        re.compile(
            rf"(?i)(?<![A-Za-z0-9])((?:{_KEY_NAMES}){_QUOTE}\s*[:=]\s*{_QUOTE})"
            r"(?!\[REDACTED\]|\*\*\*)[^\s\"'<>,;}&\\]+"
        ),
        r"\1" + REDACTED,
    ),
)


# a text that none of these occur in (case aside) matches none of the patterns above: one search then
# spares the six substitutions for nearly every string of a notebook (each pattern needs one of them)
_MAYBE = re.compile(
    r"(?i)-----BEGIN|LS0tLS1CRUdJTi|://|bearer|eyJ|token|passw|secret|api[-_]?key|client[-_]?key|certificate-"
)


# what each pattern needs, lower-cased: an ASCII text that _MAYBE lets through goes only through the
# patterns whose words it holds (a walkthrough's 100 kB body holds "://" and seldom more; the key=value
# pattern is the slow one). No replacement brings a later pattern's word in: each starts and ends with
# the characters of what it replaces, or with ones no word spans ([, ], *, @). A non-ASCII text goes
# through all six: (?i) reads K (Kelvin), ſ, ı and İ as k, s and i, and str.lower() does not.
_WORDS: tuple[tuple[str, ...], ...] = (
    ("-----begin",),
    ("ls0tls1crudjti",),
    ("://",),
    ("bearer",),
    ("eyj",),
    ("token", "passw", "secret", "apikey", "api-key", "api_key", "clientkey", "client-key", "client_key",
     "certificate-"),
)  # fmt: skip


def scrub(text: str) -> str:
    """`text` with every credential replaced (REDACTED, or *** for a URL's user:password)."""
    if not _MAYBE.search(text):
        return text
    lowered = text.lower() if text.isascii() else None
    for (pattern, replacement), words in zip(_PATTERNS, _WORDS, strict=True):
        if lowered is None or any(word in lowered for word in words):
            text = pattern.sub(replacement, text)
    return text


def scrub_data(value: Any) -> Any:
    """A copy of `value` (dicts, lists, tuples, strings) with credentials removed; a credential key's
    value is replaced whole, whatever it holds."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {
            k: (REDACTED if isinstance(k, str) and SECRET_KEY.match(k) and v else scrub_data(v))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [scrub_data(v) for v in value]
    return value


def dumps(value: Any, **kwargs: Any) -> str:
    """`json.dumps` of the scrubbed value (`default=str` objects are scrubbed as their text)."""
    default = kwargs.pop("default", None)
    text_of = (lambda o: scrub(str(default(o)))) if default else None
    return json.dumps(scrub_data(value), default=text_of, **kwargs)


class ScrubbedStream:
    """A text stream that scrubs what is written to it before passing it on (stdout, stderr)."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(scrub(text))
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextmanager
def console() -> Iterator[None]:
    """Scrub everything printed to stdout and stderr (messages, warnings, log lines) while the block runs."""
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = ScrubbedStream(sys.stdout), ScrubbedStream(sys.stderr)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved


def scrub_notebook(path: Path) -> None:
    """Rewrite an executed notebook (.ipynb JSON) with every string in it scrubbed."""
    text = path.read_text(encoding="utf-8")
    cleaned = dumps(json.loads(text), indent=1, ensure_ascii=False) + "\n"
    if cleaned != text:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(cleaned, encoding="utf-8")
        tmp.replace(path)
