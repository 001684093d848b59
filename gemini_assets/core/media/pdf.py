"""PDF validation with pypdf in strict mode, run inside the probe child process.

strict=True rejects a header that is not at offset 0 (HTML-then-PDF polyglots) and a missing
EOF marker; ``len(reader.pages)`` walks the real page tree (a lying ``/Count`` is ignored, a
cycle raises). Every page's content stream is inflated so compression bombs trip pypdf's
output limit here, not later in a text extractor that swallows the error.
"""

from __future__ import annotations

from typing import IO, Any

from pypdf import PdfReader
from pypdf.errors import LimitReachedError, PyPdfError
from pypdf.generic import DictionaryObject, IndirectObject

from gemini_assets.core.contracts.enums import MediaKind
from gemini_assets.core.contracts.errors import MediaRejected
from gemini_assets.core.contracts.reasons import QuarantineReason
from gemini_assets.core.media.facts import MediaFacts
from gemini_assets.core.media.messages import diagnostic, plain
from gemini_assets.core.media.policy import DocumentPolicy

MIME = "application/pdf"
# Active content, the policy (docs/validation.md):
# - anywhere in the document: JavaScript, launching programs, embedded or attached files, XFA
#   forms, rich media (they run or carry something whatever the reader does);
# - when they fire on their own, from /OpenAction (on open) or /AA (additional actions on page,
#   field or document events): every outbound action too (submit a form, import data, open
#   another file). On a button or link that a person must click they are ordinary navigation,
#   as are /URI links and in-document /GoTo jumps anywhere (an /OpenAction or /AA that only
#   jumps to a page is harmless: what an action does decides, not where it hangs).
ACTIVE_KEYS = frozenset({"/JavaScript", "/JS", "/Launch", "/EmbeddedFiles", "/EF", "/RichMedia", "/XFA"})
ACTIVE_ACTIONS = frozenset({"/JavaScript", "/Launch", "/RichMediaExecute"})
AUTOMATIC_ACTIONS = frozenset({"/SubmitForm", "/ImportData", "/GoToR", "/GoToE"})
AUTOMATIC_KEYS = frozenset({"/OpenAction", "/AA"})
ACTIVE_ANNOTATIONS = frozenset({"/FileAttachment", "/RichMedia", "/Movie", "/Sound", "/Screen"})
_MAX_WALK = 20_000  # objects visited while looking for active content


def probe_pdf(stream: IO[bytes], policy: DocumentPolicy) -> MediaFacts:
    try:
        reader = PdfReader(stream, strict=True)
        if reader.is_encrypted:
            raise MediaRejected(QuarantineReason.ENCRYPTED_PDF, _encryption(reader), MIME)
        pages = len(reader.pages)
    except MediaRejected:
        raise
    except LimitReachedError as exc:
        raise MediaRejected(QuarantineReason.DECOMPRESSION_BOMB, "an object inflates past the limit", MIME) from exc
    except (PyPdfError, ValueError, KeyError, TypeError, RecursionError, OSError) as exc:
        raise _read_error(exc, "the PDF cannot be read") from exc
    if pages == 0:
        raise MediaRejected(QuarantineReason.CORRUPT_MEDIA, "the PDF has no pages", MIME)
    if pages > policy.max_pages:
        raise MediaRejected(QuarantineReason.TOO_MANY_PAGES, f"{pages} pages > {policy.max_pages}", MIME)
    if policy.reject_active_content:
        found = _active_content(reader)
        if found:
            raise MediaRejected(QuarantineReason.ACTIVE_CONTENT, f"contains {', '.join(sorted(found))}", MIME)
    try:
        for page in reader.pages:
            contents = page.get_contents()
            if contents is not None:
                contents.get_data()
    except LimitReachedError as exc:
        why = "a page's content stream inflates past the limit"
        raise MediaRejected(QuarantineReason.DECOMPRESSION_BOMB, why, MIME, diagnostic(exc)) from exc
    except (PyPdfError, ValueError, KeyError, TypeError, RecursionError, OSError) as exc:
        raise _read_error(exc, "a page's content cannot be read") from exc
    return MediaFacts(MediaKind.DOCUMENT, MIME, pages=pages)


def _encryption(reader: PdfReader) -> str:
    """Which encryption: an owner password only (opens with an empty user password) or a user one."""
    try:
        opens = bool(reader.decrypt(""))
    except (PyPdfError, ValueError, KeyError, TypeError, NotImplementedError):
        opens = False
    if opens:
        return "encrypted with an owner password only (it opens without one); encrypted PDFs are rejected by policy"
    return "encrypted with a password"


def _read_error(exc: BaseException, what: str) -> MediaRejected:
    text = str(exc).lower()
    cut = "eof marker not found" in text or "unexpected end" in text or "truncated" in text
    reason = QuarantineReason.TRUNCATED if cut else QuarantineReason.CORRUPT_MEDIA
    return MediaRejected(reason, f"{what}: {plain(exc)}", MIME, diagnostic(exc))


def _active_content(reader: PdfReader) -> set[str]:
    """Active content anywhere reachable from the catalog (bounded, cycle-safe walk)."""
    found: set[str] = set()
    seen: set[tuple[int, int]] = set()
    todo: list[Any] = [reader.trailer["/Root"]]
    visited = 0
    while todo and visited < _MAX_WALK:
        node = _resolve(todo.pop(), seen)
        visited += 1
        if isinstance(node, DictionaryObject):
            for key, value in node.items():
                if key in ACTIVE_KEYS:
                    found.add(key)
                elif key == "/S" and value in ACTIVE_ACTIONS:
                    found.add(f"{value} action")
                elif key == "/Subtype" and value in ACTIVE_ANNOTATIONS and node.get("/Type", "/Annot") == "/Annot":
                    found.add(f"{value} annotation")
                if key in AUTOMATIC_KEYS:
                    found |= {f"{kind} action on open or on an event" for kind in _triggered(value, key)}
                if key not in ("/Parent", "/P"):  # back-references: already on the way down
                    todo.append(value)
        elif isinstance(node, list):
            todo.extend(node)
    return found


def _resolve(node: Any, seen: set[tuple[int, int]] | None = None) -> Any:
    if not isinstance(node, IndirectObject):
        return node
    if seen is not None:
        if (node.idnum, node.generation) in seen:
            return None
        seen.add((node.idnum, node.generation))
    try:
        return node.get_object()
    except (PyPdfError, ValueError, KeyError, OSError):
        return None


def _triggered(value: Any, key: str, depth: int = 0) -> set[str]:
    """Outbound action types an /OpenAction or /AA entry runs by itself (following /Next chains;
    an /OpenAction that is a plain destination array runs nothing)."""
    node = _resolve(value)
    if depth > 32 or not isinstance(node, DictionaryObject):
        return set()
    if key == "/AA":  # event name -> action
        return set().union(*(_triggered(action, "/OpenAction", depth + 1) for action in node.values()))
    kinds = {str(node["/S"])} & AUTOMATIC_ACTIONS if "/S" in node else set()
    following = _resolve(node.get("/Next"))
    for action in following if isinstance(following, list) else [following] if following is not None else []:
        kinds |= _triggered(action, "/OpenAction", depth + 1)
    return kinds
