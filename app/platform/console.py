"""Console output that never crashes on a code page that cannot hold the text (cp1252, cp936 …).

A Windows console is written through its UTF-16 API and holds everything; a pipe or a file gets the ANSI
code page, where a Chinese message (or a name in a certificate) may not fit. Such characters are written
as ``\\uXXXX`` escapes instead of ending the command with UnicodeEncodeError, and JSON output is then
ASCII-only (exact, since JSON escapes are part of the format).
"""

from __future__ import annotations

import codecs
import io
import sys
from typing import Any, Optional


def _encoding(stream: Any) -> Optional[str]:
    encoding = getattr(stream, "encoding", None)
    return str(encoding) if encoding else None


def is_unicode(stream: Any) -> bool:
    """True when the stream can take any text (a UTF encoding), so nothing needs escaping."""
    encoding = _encoding(stream)
    if encoding is None:
        return True  # no stream at all (a windowed app): nothing is written
    try:
        return codecs.lookup(encoding).name.startswith("utf")
    except LookupError:
        return False


def make_safe(stream: Any) -> None:
    if isinstance(stream, io.TextIOWrapper) and not is_unicode(stream):
        stream.reconfigure(errors="backslashreplace")


def protect_console() -> None:
    """Call once at CLI start: stdout and stderr escape what their code page cannot encode."""
    make_safe(sys.stdout)
    make_safe(sys.stderr)


def json_ascii() -> bool:
    """Whether JSON on stdout must escape non-ASCII text (``ensure_ascii``)."""
    return not is_unicode(sys.stdout)
