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
from gemini_assets.core.media.policy import DocumentPolicy

MIME = "application/pdf"
# Names whose presence means the PDF can run code, launch programs or carry other files.
# (/OpenAction alone is usually "open at page 1"; it matters only when its action is one of these.)
ACTIVE_KEYS = frozenset({"/JavaScript", "/JS", "/Launch", "/EmbeddedFiles", "/RichMedia", "/XFA"})
ACTIVE_ACTIONS = frozenset({"/JavaScript", "/Launch", "/ImportData", "/RichMediaExecute"})
_MAX_WALK = 20_000  # objects visited while looking for active content


def probe_pdf(stream: IO[bytes], policy: DocumentPolicy) -> MediaFacts:
    try:
        reader = PdfReader(stream, strict=True)
        if reader.is_encrypted:
            raise MediaRejected(QuarantineReason.ENCRYPTED_PDF, "the PDF is encrypted", MIME)
        pages = len(reader.pages)
    except MediaRejected:
        raise
    except LimitReachedError as exc:
        raise MediaRejected(QuarantineReason.DECOMPRESSION_BOMB, f"pypdf limit reached: {exc}", MIME) from exc
    except (PyPdfError, ValueError, KeyError, TypeError, RecursionError, OSError) as exc:
        raise MediaRejected(
            QuarantineReason.CORRUPT_MEDIA, f"pypdf cannot read it: {type(exc).__name__}: {exc}", MIME
        ) from exc
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
        raise MediaRejected(
            QuarantineReason.DECOMPRESSION_BOMB, f"content stream inflates past the limit: {exc}", MIME
        ) from exc
    except (PyPdfError, ValueError, KeyError, TypeError, RecursionError, OSError) as exc:
        raise MediaRejected(
            QuarantineReason.CORRUPT_MEDIA, f"page content unreadable: {type(exc).__name__}: {exc}", MIME
        ) from exc
    return MediaFacts(MediaKind.DOCUMENT, MIME, pages=pages)


def _active_content(reader: PdfReader) -> set[str]:
    """Active-content keys anywhere reachable from the catalog (bounded, cycle-safe walk)."""
    found: set[str] = set()
    seen: set[tuple[int, int]] = set()
    todo: list[Any] = [reader.trailer["/Root"]]
    visited = 0
    while todo and visited < _MAX_WALK:
        node = todo.pop()
        visited += 1
        if isinstance(node, IndirectObject):
            ref = (node.idnum, node.generation)
            if ref in seen:
                continue
            seen.add(ref)
            try:
                node = node.get_object()
            except (PyPdfError, ValueError, KeyError, OSError):
                continue
        if isinstance(node, DictionaryObject):
            for key, value in node.items():
                if key in ACTIVE_KEYS:
                    found.add(key)
                elif key == "/S" and value in ACTIVE_ACTIONS:
                    found.add(f"{value} action")
                if key not in ("/Parent", "/P"):  # back-references: already on the way down
                    todo.append(value)
        elif isinstance(node, list):
            todo.extend(node)
    return found
