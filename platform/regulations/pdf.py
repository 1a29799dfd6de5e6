"""What an uploaded regulation must be: a PDF that parses, with nothing in it that runs.

A regulation is a text the ministry and the municipality's staff open in their PDF readers, so
a file is accepted only when pypdf (maintained, pure Python) parses it into a document with
pages, and no object of it carries active content:

- JavaScript: a ``/JS`` or ``/JavaScript`` key anywhere (the document's names tree, an
  ``/OpenAction``, annotations' and form fields' ``/AA``), or an action of type JavaScript;
- actions that leave the document: ``/Launch`` (run a program), ``/SubmitForm`` and
  ``/ImportData`` (send or load form data), ``/GoToE`` (into an embedded file);
- embedded files: ``/EmbeddedFiles`` (names tree), ``/EF`` (a file specification's payload),
  ``/EmbeddedFile`` streams, file attachment annotations;
- XFA forms (``/XFA``: XML forms with their own scripts) and multimedia annotations
  (``/RichMedia``, ``/3D``, ``/Screen``, ``/Movie``, ``/Sound``: players, and 3D and rich
  media carry scripts of their own).

Links (``/URI``, ``/GoTo``, ``/GoToR``) and plain AcroForm fields stay: they navigate, nothing
runs. Every object pypdf indexes is walked, reachable or not; and, since a reader that repairs
a broken file may find objects the cross-reference table does not list, the bytes outside
streams are searched for the same names too (a heuristic for plainly written objects: stream
data is skipped, as compressed bytes would match by chance). PDF names are compared decoded (``/J#61vaScript`` is
``/JavaScript``). A password-protected file is refused unless it opens with the empty password
(owner-only protection): an encrypted object stream cannot be inspected, and the ministry could
not open it either.

A file that starts as a PDF but is something else (``%PDF-…<html><script>…%%EOF``) does not
parse. One whose first bytes are ``%PDF-`` is never sniffed as HTML by a browser, and downloads
are sent as attachments with ``nosniff`` (blueprint.py) in any case.
"""

from __future__ import annotations

import io
import logging
import re
import warnings
from collections.abc import Iterator
from typing import Any

from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject

from kentra.platform.core.errors import DomainError
from kentra.platform.core.i18n import LazyString
from kentra.platform.core.i18n import lazy_gettext as _l

# pypdf reports repairs of malformed files through logging; for an upload they are the
# uploader's problem, answered with a 422, and their text may quote the file's bytes.
logging.getLogger("pypdf").setLevel(logging.ERROR)

# Past this many objects the file is refused rather than walked (a regulation has far fewer;
# the walk is pure Python).
MAX_OBJECTS = 100_000


class Finding:
    """Kinds of active content, as the refusal names them (translated when shown)."""

    JAVASCRIPT = _l("JavaScript")
    LAUNCH = _l("ενέργεια που εκτελεί πρόγραμμα")
    FORM_DATA = _l("ενέργεια που στέλνει ή φορτώνει δεδομένα φόρμας")
    EMBEDDED_FILE = _l("ενσωματωμένα αρχεία")
    XFA = _l("φόρμα XFA")
    MULTIMEDIA = _l("πολυμέσα")


_KEYS: dict[str, LazyString] = {
    "/JS": Finding.JAVASCRIPT,
    "/JavaScript": Finding.JAVASCRIPT,
    "/EmbeddedFiles": Finding.EMBEDDED_FILE,
    "/EF": Finding.EMBEDDED_FILE,
    "/XFA": Finding.XFA,
    "/RichMediaContent": Finding.MULTIMEDIA,
}
_ACTIONS: dict[str, LazyString] = {
    "/JavaScript": Finding.JAVASCRIPT,
    "/Launch": Finding.LAUNCH,
    "/SubmitForm": Finding.FORM_DATA,
    "/ImportData": Finding.FORM_DATA,
    "/GoToE": Finding.EMBEDDED_FILE,
    "/RichMediaExecute": Finding.MULTIMEDIA,
}
_TYPES: dict[str, LazyString] = {
    "/EmbeddedFile": Finding.EMBEDDED_FILE,
    "/FileAttachment": Finding.EMBEDDED_FILE,
    "/RichMedia": Finding.MULTIMEDIA,
    "/3D": Finding.MULTIMEDIA,
    "/Screen": Finding.MULTIMEDIA,
    "/Movie": Finding.MULTIMEDIA,
    "/Sound": Finding.MULTIMEDIA,
}
# The same names as plain bytes, ending at a PDF delimiter or whitespace; searched outside
# streams only (compressed data would match by chance).
_RAW = re.compile(
    rb"/(JavaScript|JS|Launch|SubmitForm|ImportData|EmbeddedFiles?|EF|XFA|RichMedia|GoToE)"
    rb"(?=[\s/<>\[\]()%{}]|$)"
)
_STREAM = re.compile(rb">>\s*stream\r?\n.*?endstream", re.DOTALL)
_RAW_FINDINGS: dict[bytes, LazyString] = {
    b"JavaScript": Finding.JAVASCRIPT,
    b"JS": Finding.JAVASCRIPT,
    b"Launch": Finding.LAUNCH,
    b"SubmitForm": Finding.FORM_DATA,
    b"ImportData": Finding.FORM_DATA,
    b"EmbeddedFile": Finding.EMBEDDED_FILE,
    b"EmbeddedFiles": Finding.EMBEDDED_FILE,
    b"EF": Finding.EMBEDDED_FILE,
    b"GoToE": Finding.EMBEDDED_FILE,
    b"XFA": Finding.XFA,
    b"RichMedia": Finding.MULTIMEDIA,
}


NOT_A_PDF = _l("Το αρχείο δεν είναι PDF: ανεβάστε τον κανονισμό ως αρχείο PDF (κατάληξη .pdf).")
ENCRYPTED_PDF = _l(
    "Το PDF είναι κλειδωμένο με κωδικό και δεν ελέγχεται ούτε ανοίγει χωρίς αυτόν: ανεβάστε "
    "το χωρίς κωδικό."
)


def not_a_pdf() -> DomainError:
    return DomainError("regulations.not_a_pdf", 422, NOT_A_PDF, field="file")


def active_content(content: bytes) -> LazyString | None:
    """The first kind of active content in ``content``, or None.

    Refuses (``DomainError``, 422 on the file) bytes pypdf cannot read as a document with
    pages, and a PDF that needs a password."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pypdf warns about repairs, as it logs them
        try:
            reader = _opened(content)
            found = _walk(reader) if reader is not None else None
        # A malformed file fails in many ways inside the parser (its own errors, but also
        # KeyError, ValueError, RecursionError, ...): every one means "not a PDF we can read".
        except Exception as error:
            raise not_a_pdf() from error
    if reader is None:
        raise DomainError("regulations.encrypted_pdf", 422, ENCRYPTED_PDF, field="file")
    if found is not None:
        return found
    raw = _RAW.search(_STREAM.sub(b">> ", content))
    return None if raw is None else _RAW_FINDINGS[raw.group(1)]


def _opened(content: bytes) -> PdfReader | None:
    """The parsed document (None: it needs a password); pypdf's errors propagate."""
    reader = PdfReader(io.BytesIO(content), strict=False)
    if reader.is_encrypted and not reader.decrypt(""):
        return None
    if len(reader.pages) == 0:
        raise not_a_pdf()
    return reader


def _objects(reader: PdfReader) -> Iterator[Any]:
    """The trailer, then every object the cross-reference tables and object streams index."""
    yield reader.trailer
    for generation, table in reader.xref.items():
        for number in table:
            yield IndirectObject(number, generation, reader)
    for number in reader.xref_objStm:
        yield IndirectObject(number, 0, reader)


def _walk(reader: PdfReader) -> LazyString | None:
    """Every object and what it holds, depth first, each indirect object once."""
    stack = list(_objects(reader))
    seen: set[tuple[int, int]] = set()
    while stack:
        item = stack.pop()
        if isinstance(item, IndirectObject):
            key = (item.idnum, item.generation)
            if key in seen:
                continue
            seen.add(key)
            if len(seen) > MAX_OBJECTS:
                raise not_a_pdf()
            item = item.get_object()
        if isinstance(item, DictionaryObject):  # streams too
            finding = _finding(item)
            if finding is not None:
                return finding
            stack.extend(dict.values(item))  # unresolved: references are followed above
        elif isinstance(item, ArrayObject):
            stack.extend(list.__iter__(item))
    return None


def _finding(dictionary: DictionaryObject) -> LazyString | None:
    for key in dict.keys(dictionary):
        if key in _KEYS:
            return _KEYS[key]
    for key, kinds in (("/S", _ACTIONS), ("/Type", _TYPES), ("/Subtype", _TYPES)):
        value = dict.get(dictionary, key)
        if isinstance(value, NameObject) and value in kinds:
            return kinds[value]
    return None
