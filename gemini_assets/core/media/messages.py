"""Parser errors as people read them: no paths, errno numbers or Python exception names.

The short form goes to ``quarantined_media.reason_detail``; the full one (exception type and
message) is kept as the diagnostic in the quarantine's ``reason.json``, with paths relative to
the storage root, for whoever debugs a parser.
"""

from __future__ import annotations

import re

_ERRNO = re.compile(r"\[Errno -?\d+\]\s*")
# An absolute path, quoted (it may hold spaces) or bare after a space, colon or bracket
# ("Input/output error" and "3/4" are not paths); PyAV names a stream without a file '<none>'.
_QUOTED_PATH = re.compile(r""":?\s*(['"])(?:/|<none>)[^'"]*\1""")
_BARE_PATH = re.compile(r""":?\s*(?<![^\s(=:])/[^\s)]+""")
_MAX = 200


def plain(exc: BaseException) -> str:
    """The error's own words: FFmpeg's strerror without errno and file name, else the message."""
    text = _ERRNO.sub("", str(getattr(exc, "strerror", None) or exc))
    text = _BARE_PATH.sub("", _QUOTED_PATH.sub("", text)).strip().rstrip(":").strip()
    return (text or "no detail from the parser")[:_MAX]


def diagnostic(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:2000]


def relative_to_root(text: str | None, root_path: str) -> str | None:
    """A diagnostic with the storage root's absolute path taken out (keys stay readable)."""
    if text is None:
        return None
    return text.replace(root_path.rstrip("/") + "/", "") if root_path else text
