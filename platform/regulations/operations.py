"""Operating regulations: upload, approval, submission, the ministry's decision. They flush,
never commit.

A version goes draft → approved (the head of its centre) → submitted (to the ministry) →
acknowledged, or returned with comments. A returned version stays returned: the municipality
uploads a new draft. Submitting inserts the ministry's row (``shared.regulation_submissions``)
and every later change keeps it in step, in the caller's transaction: the ministry's list
never disagrees with the tenant's versions.

The first version of a centre is its initial regulation, every later one an amendment, which
needs a summary of the change (domain.md §10, rule 7). Every state change is audited in the
tenant's log, by ids only.

Refusals are :class:`RegulationError` subclasses whose messages are Greek, then English.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kentra.auth.principal import Principal, UnitPath
from kentra.auth.roles import Role
from kentra.platform.audit.operations import record_tenant_event
from kentra.platform.core.models import utcnow
from kentra.platform.regulations.models import (
    RegulationKind,
    RegulationStatus,
    RegulationSubmission,
    RegulationVersion,
)
from kentra.platform.regulations.pdf import Encrypted, NotAPdf, active_content
from kentra.platform.units.models import Unit, UnitKind

PDF_MAGIC = b"%PDF-"
PDF_END = b"%%EOF"
# "%%EOF" must be in the file's last bytes (a trailing newline or a little padding is usual).
PDF_END_WINDOW = 1024
SUMMARY_MAX = 2000
COMMENT_MIN, COMMENT_MAX = 3, 2000
FILENAME_MAX = 200
_UNSAFE_FILENAME = re.compile(r"[\x00-\x1f\x7f\"\\/]")

NOT_A_PDF = (
    "Το αρχείο δεν είναι PDF: ανεβάστε τον κανονισμό ως αρχείο PDF (κατάληξη .pdf). "
    "The file is not a PDF: upload the regulation as a PDF file (ending .pdf)."
)
ENCRYPTED_PDF = (
    "Το PDF είναι κλειδωμένο με κωδικό και δεν ελέγχεται ούτε ανοίγει χωρίς αυτόν: ανεβάστε "
    "το χωρίς κωδικό. The PDF is password-protected and can be neither checked nor opened "
    "without the password: upload it without one."
)
NOT_AN_OPEN_CENTRE = (
    "Δεν υπάρχει ανοιχτό Κέντρο του Δήμου με αυτόν τον κωδικό. "
    "There is no open centre of the municipality with this id."
)
NOT_YOUR_CENTRE = (
    "Ο ρόλος σας αφορά άλλο Κέντρο: μόνο ο/η υπεύθυνος/η αυτού του Κέντρου μπορεί να το κάνει. "
    "Your role covers another centre: only the head of this centre may do this."
)
SUMMARY_REQUIRED = (
    "Η τροποποίηση χρειάζεται περίληψη της αλλαγής. An amendment needs a summary of the change."
)
COMMENT_REQUIRED = (
    f"Η επιστροφή χρειάζεται σχόλια ({COMMENT_MIN} έως {COMMENT_MAX} χαρακτήρες). "
    f"Returning needs comments ({COMMENT_MIN} to {COMMENT_MAX} characters)."
)
NOT_FOUND = (
    "Δεν υπάρχει έκδοση κανονισμού με αυτόν τον κωδικό. "
    "There is no regulation version with this id."
)

# What each transition needs, as (Greek, English) of the state it must be in.
_STATE_TEXT: dict[RegulationStatus, str] = {
    RegulationStatus.DRAFT: "σχέδιο",
    RegulationStatus.APPROVED: "εγκεκριμένη",
    RegulationStatus.SUBMITTED: "υποβληθείσα",
    RegulationStatus.ACKNOWLEDGED: "παραλήφθηκε από το Υπουργείο",
    RegulationStatus.RETURNED: "επεστράφη με σχόλια",
}


class RegulationError(Exception):
    """A refused operation; ``str(error)`` is meant for the caller (Greek, then English)."""


class RegulationInvalid(RegulationError):
    """Bad input (422), tied to one field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class RegulationTooLarge(RegulationInvalid):
    """The file is larger than the limit (413)."""


class RegulationConflict(RegulationError):
    """The version is not in the state the operation needs (409)."""


class RegulationForbidden(RegulationError):
    """The principal's role does not cover the version's centre (403)."""


class RegulationNotFound(RegulationError):
    """No such version (404)."""


def too_large(limit: int) -> str:
    megabytes = f"{limit / (1024 * 1024):.1f}".rstrip("0").rstrip(".")
    return (
        f"Το αρχείο είναι μεγαλύτερο από {megabytes.replace('.', ',')} MB: ανεβάστε μικρότερο "
        f"αρχείο. The file is larger than {megabytes} MB: upload a smaller one."
    )


def state_conflict(
    version: RegulationVersion, needed: RegulationStatus, action: tuple[str, str]
) -> str:
    return (
        f"Η έκδοση είναι «{_STATE_TEXT[version.status]}»· {action[0]} μόνο όταν είναι "
        f"«{_STATE_TEXT[needed]}». The version is {version.status}: {action[1]} only when "
        f"it is {needed}."
    )


@dataclass(frozen=True)
class UploadedFile:
    filename: str
    content: bytes


def clean_filename(raw: str) -> str:
    """The file's own name (no folders, no control characters or quotes), at most 200 characters."""
    name = re.split(r"[\\/]", raw)[-1]
    name = _UNSAFE_FILENAME.sub("", name).strip()
    if len(name) > FILENAME_MAX:
        name = name[: FILENAME_MAX - 4].rstrip() + ".pdf"
    return name


def active_content_refusal(found: tuple[str, str]) -> str:
    greek, english = found
    return (
        f"Το PDF περιέχει ενεργό περιεχόμενο ({greek}), που δεν γίνεται δεκτό σε κανονισμό: "
        "αποθηκεύστε το ξανά ως απλό PDF (π.χ. «Εκτύπωση σε PDF») και ανεβάστε εκείνο. "
        f"The PDF contains active content ({english}), which a regulation may not have: save "
        'it again as a plain PDF (e.g. "Print to PDF") and upload that.'
    )


def check_pdf(upload: UploadedFile, max_bytes: int) -> str:
    """Refuse a file that is too large (413) or not a PDF (422: by its name and its bytes; a
    content type is not evidence): it must parse as a PDF with pages, open without a password
    and hold no active content (:mod:`kentra.platform.regulations.pdf`). Returns the cleaned
    filename."""
    if len(upload.content) > max_bytes:
        raise RegulationTooLarge("file", too_large(max_bytes))
    filename = clean_filename(upload.filename)
    content = upload.content
    if (
        not filename.lower().endswith(".pdf")
        or len(filename) <= len(".pdf")
        or not content.startswith(PDF_MAGIC)
        or PDF_END not in content[-PDF_END_WINDOW:]
    ):
        raise RegulationInvalid("file", NOT_A_PDF)
    try:
        found = active_content(content)
    except NotAPdf:
        raise RegulationInvalid("file", NOT_A_PDF) from None
    except Encrypted:
        raise RegulationInvalid("file", ENCRYPTED_PDF) from None
    if found is not None:
        raise RegulationInvalid("file", active_content_refusal(found))
    return filename


def centre_path(municipality_code: str, centre: Unit) -> UnitPath:
    return UnitPath(municipality_code, centre.centre, None)


def covers_centre(principal: Principal, municipality_code: str, centre: Unit) -> bool:
    """A municipality admin acts for every centre of the municipality; a centre head only for
    the centres their unit scope covers."""
    if Role.MUNICIPALITY_ADMIN in principal.roles:
        return True
    return principal.reaches_unit(centre_path(municipality_code, centre))


def open_centres(session: Session) -> list[Unit]:
    return list(
        session.scalars(
            select(Unit)
            .where(Unit.kind == UnitKind.CENTRE, Unit.closed_on.is_(None))
            .order_by(Unit.name, Unit.id)
        )
    )


def upload_regulation(
    session: Session,
    *,
    principal: Principal,
    municipality_code: str,
    centre_id: int,
    effective_date: date,
    change_summary: str | None,
    upload: UploadedFile,
    max_bytes: int,
) -> RegulationVersion:
    """A new draft version of ``centre_id``'s regulation: initial if the centre has none yet,
    else an amendment (which needs ``change_summary``). The file is checked first."""
    filename = check_pdf(upload, max_bytes)
    # Locked until the transaction ends: two first uploads cannot both be "initial".
    centre = session.scalars(
        select(Unit).where(Unit.id == centre_id).with_for_update()
    ).one_or_none()
    if centre is None or centre.kind != UnitKind.CENTRE or not centre.is_open:
        raise RegulationInvalid("centre_id", NOT_AN_OPEN_CENTRE)
    if not covers_centre(principal, municipality_code, centre):
        raise RegulationForbidden(NOT_YOUR_CENTRE)
    earlier = session.scalar(
        select(func.count())
        .select_from(RegulationVersion)
        .where(RegulationVersion.centre_id == centre.id)
    )
    kind = RegulationKind.AMENDMENT if earlier else RegulationKind.INITIAL
    summary = (change_summary or "").strip()
    if kind is RegulationKind.AMENDMENT and not summary:
        raise RegulationInvalid("change_summary", SUMMARY_REQUIRED)
    version = RegulationVersion(
        centre_id=centre.id,
        kind=kind,
        effective_date=effective_date,
        change_summary=summary,
        status=RegulationStatus.DRAFT,
        filename=filename,
        size_bytes=len(upload.content),
        sha256=hashlib.sha256(upload.content).hexdigest(),
        content=upload.content,
        uploaded_by=principal.subject,
        uploaded_at=utcnow(),
    )
    session.add(version)
    session.flush()
    _audit(session, version, principal.subject, "regulation.uploaded")
    return version


def _audit(session: Session, version: RegulationVersion, actor: str, action: str) -> None:
    record_tenant_event(
        session,
        actor=actor,
        action=action,
        object_type="regulation",
        object_id=str(version.id),
        details={"centre_id": version.centre_id, "status": str(version.status)},
    )


def _require(version: RegulationVersion, needed: RegulationStatus, action: tuple[str, str]) -> None:
    if version.status != needed:
        raise RegulationConflict(state_conflict(version, needed, action))


def approve_regulation(
    session: Session, version: RegulationVersion, *, principal: Principal, municipality_code: str
) -> RegulationVersion:
    """The head of the version's centre approves a draft."""
    centre = session.get(Unit, version.centre_id)
    assert centre is not None  # a foreign key
    if not principal.reaches_unit(centre_path(municipality_code, centre)):
        raise RegulationForbidden(NOT_YOUR_CENTRE)
    _require(version, RegulationStatus.DRAFT, ("εγκρίνεται", "it can be approved"))
    version.status = RegulationStatus.APPROVED
    version.approved_by = principal.subject
    version.approved_at = utcnow()
    session.flush()
    _audit(session, version, principal.subject, "regulation.approved")
    return version


def submit_regulation(
    session: Session, version: RegulationVersion, *, principal: Principal, municipality_code: str
) -> RegulationVersion:
    """Send an approved version to the ministry: the ministry's row is inserted with it."""
    centre = session.get(Unit, version.centre_id)
    assert centre is not None
    if not covers_centre(principal, municipality_code, centre):
        raise RegulationForbidden(NOT_YOUR_CENTRE)
    if version.status in (
        RegulationStatus.SUBMITTED,
        RegulationStatus.ACKNOWLEDGED,
        RegulationStatus.RETURNED,
    ):
        raise RegulationConflict(
            "Η έκδοση έχει ήδη υποβληθεί στο Υπουργείο. "
            "The version has already been submitted to the ministry."
        )
    _require(version, RegulationStatus.APPROVED, ("υποβάλλεται", "it can be submitted"))
    now = utcnow()
    version.status = RegulationStatus.SUBMITTED
    version.submitted_by = principal.subject
    version.submitted_at = now
    session.add(
        RegulationSubmission(
            municipality_code=municipality_code,
            regulation_id=version.id,
            centre_id=centre.id,
            centre_name=centre.name,
            kind=version.kind,
            effective_date=version.effective_date,
            change_summary=version.change_summary,
            status=RegulationStatus.SUBMITTED,
            filename=version.filename,
            size_bytes=version.size_bytes,
            sha256=version.sha256,
            submitted_at=now,
        )
    )
    session.flush()
    _audit(session, version, principal.subject, "regulation.submitted")
    return version


def decide_regulation(
    session: Session,
    version: RegulationVersion,
    *,
    actor: str,
    municipality_code: str,
    acknowledge: bool,
    comment: str | None = None,
) -> RegulationVersion:
    """The ministry acknowledges a submitted version, or returns it with comments (required)."""
    text = (comment or "").strip()
    if not acknowledge and not COMMENT_MIN <= len(text) <= COMMENT_MAX:
        raise RegulationInvalid("comment", COMMENT_REQUIRED)
    action = ("παραλαμβάνεται", "it can be acknowledged")
    if not acknowledge:
        action = ("επιστρέφεται", "it can be returned")
    _require(version, RegulationStatus.SUBMITTED, action)
    status = RegulationStatus.ACKNOWLEDGED if acknowledge else RegulationStatus.RETURNED
    now = utcnow()
    version.status = status
    version.decided_by = actor
    version.decided_at = now
    version.ministry_comment = text or None
    submission = session.get(
        RegulationSubmission, (municipality_code, version.id), with_for_update=True
    )
    assert submission is not None  # inserted with the submission, in the same transaction
    submission.status = status
    submission.decided_at = now
    submission.ministry_comment = text or None
    session.flush()
    _audit(session, version, actor, f"regulation.{status}")
    return version
