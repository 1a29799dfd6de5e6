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

Refusals are ``DomainError``s with codes ``regulations.*`` (ADR 0033).
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
from kentra.platform.audit.api import record_change
from kentra.platform.core.errors import DomainError
from kentra.platform.core.i18n import LazyString, lazy_decimal
from kentra.platform.core.i18n import lazy_gettext as _l
from kentra.platform.core.models import utcnow
from kentra.platform.regulations.events import RegulationChanged
from kentra.platform.regulations.models import (
    RegulationKind,
    RegulationStatus,
    RegulationSubmission,
    RegulationVersion,
)
from kentra.platform.regulations.pdf import active_content, not_a_pdf
from kentra.platform.units.api import Unit, UnitKind

PDF_MAGIC = b"%PDF-"
PDF_END = b"%%EOF"
# "%%EOF" must be in the file's last bytes (a trailing newline or a little padding is usual).
PDF_END_WINDOW = 1024
SUMMARY_MAX = 2000
COMMENT_MIN, COMMENT_MAX = 3, 2000
FILENAME_MAX = 200
_UNSAFE_FILENAME = re.compile(r"[\x00-\x1f\x7f\"\\/]")
# What the ministry's row (RegulationSubmission) repeats of the version when it is submitted;
# decide_regulation keeps its status, decision and comment in step afterwards.
SUBMITTED_FIELDS = (
    "centre_id",
    "kind",
    "effective_date",
    "change_summary",
    "status",
    "filename",
    "size_bytes",
    "sha256",
    "submitted_at",
)

# Refusals (DomainError): Greek, translated when shown.
NOT_AN_OPEN_CENTRE = _l("Δεν υπάρχει ανοιχτό Κέντρο του Δήμου με αυτόν τον κωδικό.")
NOT_YOUR_CENTRE = _l(
    "Ο ρόλος σας αφορά άλλο Κέντρο: μόνο ο/η υπεύθυνος/η αυτού του Κέντρου μπορεί να το κάνει."
)
SUMMARY_REQUIRED = _l("Η τροποποίηση χρειάζεται περίληψη της αλλαγής.")
COMMENT_REQUIRED = _l("Η επιστροφή χρειάζεται σχόλια (%(low)s έως %(high)s χαρακτήρες).")
NOT_FOUND = _l("Δεν υπάρχει έκδοση κανονισμού με αυτόν τον κωδικό.")
TOO_LARGE = _l("Το αρχείο είναι μεγαλύτερο από %(size)s MB: ανεβάστε μικρότερο αρχείο.")
STATE_CONFLICT = _l("Η έκδοση είναι «%(state)s»· %(action)s μόνο όταν είναι «%(needed)s».")
ALREADY_SUBMITTED = _l("Η έκδοση έχει ήδη υποβληθεί στο Υπουργείο.")
ACTIVE_CONTENT = _l(
    "Το PDF περιέχει ενεργό περιεχόμενο (%(what)s), που δεν γίνεται δεκτό σε κανονισμό: "
    "αποθηκεύστε το ξανά ως απλό PDF (π.χ. «Εκτύπωση σε PDF») και ανεβάστε εκείνο."
)

# The states, as a refusal names them (translated when shown).
_STATE_TEXT: dict[RegulationStatus, LazyString] = {
    RegulationStatus.DRAFT: _l("σχέδιο"),
    RegulationStatus.APPROVED: _l("εγκεκριμένη"),
    RegulationStatus.SUBMITTED: _l("υποβληθείσα"),
    RegulationStatus.ACKNOWLEDGED: _l("παραλήφθηκε από το Υπουργείο"),
    RegulationStatus.RETURNED: _l("επεστράφη με σχόλια"),
    RegulationStatus.WITHDRAWN: _l("αποσύρθηκε"),
}
# What each transition is, as a refusal names it.
APPROVING = _l("εγκρίνεται")
SUBMITTING = _l("υποβάλλεται")
ACKNOWLEDGING = _l("παραλαμβάνεται")
RETURNING = _l("επιστρέφεται")
WITHDRAWING = _l("αποσύρεται")


def too_large(limit: int) -> DomainError:
    return DomainError(
        "regulations.file_too_large",
        413,
        TOO_LARGE,
        field="file",
        size=lazy_decimal(round(limit / (1024 * 1024), 1)),
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


def check_pdf(upload: UploadedFile, max_bytes: int) -> str:
    """Refuse a file that is too large (413) or not a PDF (422: by its name and its bytes; a
    content type is not evidence): it must parse as a PDF with pages, open without a password
    and hold no active content (:mod:`kentra.platform.regulations.pdf`). Returns the cleaned
    filename."""
    if len(upload.content) > max_bytes:
        raise too_large(max_bytes)
    filename = clean_filename(upload.filename)
    content = upload.content
    if (
        not filename.lower().endswith(".pdf")
        or len(filename) <= len(".pdf")
        or not content.startswith(PDF_MAGIC)
        or PDF_END not in content[-PDF_END_WINDOW:]
    ):
        raise not_a_pdf()
    found = active_content(content)
    if found is not None:
        raise DomainError(
            "regulations.active_content", 422, ACTIVE_CONTENT, field="file", what=found
        )
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
        raise DomainError(
            "regulations.not_an_open_centre", 422, NOT_AN_OPEN_CENTRE, field="centre_id"
        )
    _refuse_other_centre(covers_centre(principal, municipality_code, centre))
    earlier = session.scalar(
        select(func.count())
        .select_from(RegulationVersion)
        .where(
            RegulationVersion.centre_id == centre.id,
            # A withdrawn draft never was the centre's regulation.
            RegulationVersion.status != RegulationStatus.WITHDRAWN,
        )
    )
    kind = RegulationKind.AMENDMENT if earlier else RegulationKind.INITIAL
    summary = (change_summary or "").strip()
    if kind is RegulationKind.AMENDMENT and not summary:
        raise DomainError(
            "regulations.summary_required", 422, SUMMARY_REQUIRED, field="change_summary"
        )
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
        uploaded_by_name=display_name(principal),
        uploaded_at=utcnow(),
    )
    session.add(version)
    return _changed(session, version, principal.subject, "regulation.uploaded")


def display_name(principal: Principal) -> str:
    """The person as the others know them: the token's name, else their username."""
    name = principal.claims.get("name")
    return str(name) if isinstance(name, str) and name.strip() else principal.username or ""


def withdraw_regulation(
    session: Session, version: RegulationVersion, *, principal: Principal, municipality_code: str
) -> RegulationVersion:
    """Take a draft back before it is approved: it stays listed, as withdrawn, and the centre's
    next upload is again its initial version if no other version was ever kept."""
    _version_centre(session, version, principal, municipality_code)
    _require(version, RegulationStatus.DRAFT, WITHDRAWING)
    version.status = RegulationStatus.WITHDRAWN
    version.withdrawn_by = principal.subject
    version.withdrawn_at = utcnow()
    return _changed(session, version, principal.subject, "regulation.withdrawn")


def _refuse_other_centre(acts_for_it: bool) -> None:
    if not acts_for_it:
        raise DomainError("regulations.not_your_centre", 403, NOT_YOUR_CENTRE, field="centre_id")


def _version_centre(
    session: Session,
    version: RegulationVersion,
    principal: Principal,
    municipality_code: str,
    *,
    head_only: bool = False,
) -> Unit:
    """The version's centre, once the principal is known to act for it (403 otherwise): a
    municipality admin or the centre's head (:func:`covers_centre`); with ``head_only``, as
    for approving, the centre's head alone."""
    centre = session.get(Unit, version.centre_id)
    assert centre is not None  # a foreign key
    _refuse_other_centre(
        principal.reaches_unit(centre_path(municipality_code, centre))
        if head_only
        else covers_centre(principal, municipality_code, centre)
    )
    return centre


def _changed(
    session: Session, version: RegulationVersion, actor: str, action: str
) -> RegulationVersion:
    """What every change of a version ends with: flushed, announced (RegulationChanged) and
    audited in the tenant's log, by ids only."""
    session.flush()
    details = {"centre_id": version.centre_id, "status": str(version.status)}
    record_change(
        session, RegulationChanged(version.id), actor=actor, action=action, details=details
    )
    return version


def _require(version: RegulationVersion, needed: RegulationStatus, action: LazyString) -> None:
    if version.status != needed:
        raise DomainError(
            "regulations.wrong_state",
            409,
            STATE_CONFLICT,
            state=_STATE_TEXT[version.status],
            action=action,
            needed=_STATE_TEXT[needed],
        )


def approve_regulation(
    session: Session, version: RegulationVersion, *, principal: Principal, municipality_code: str
) -> RegulationVersion:
    """The head of the version's centre approves a draft."""
    _version_centre(session, version, principal, municipality_code, head_only=True)
    _require(version, RegulationStatus.DRAFT, APPROVING)
    version.status = RegulationStatus.APPROVED
    version.approved_by = principal.subject
    version.approved_at = utcnow()
    return _changed(session, version, principal.subject, "regulation.approved")


def submit_regulation(
    session: Session, version: RegulationVersion, *, principal: Principal, municipality_code: str
) -> RegulationVersion:
    """Send an approved version to the ministry: the ministry's row is inserted with it."""
    centre = _version_centre(session, version, principal, municipality_code)
    if version.status in (
        RegulationStatus.SUBMITTED,
        RegulationStatus.ACKNOWLEDGED,
        RegulationStatus.RETURNED,
    ):
        raise DomainError("regulations.already_submitted", 409, ALREADY_SUBMITTED)
    _require(version, RegulationStatus.APPROVED, SUBMITTING)
    version.status = RegulationStatus.SUBMITTED
    version.submitted_by = principal.subject
    version.submitted_at = utcnow()
    session.add(
        RegulationSubmission(
            municipality_code=municipality_code,
            regulation_id=version.id,
            centre_name=centre.name,
            **{name: getattr(version, name) for name in SUBMITTED_FIELDS},
        )
    )
    return _changed(session, version, principal.subject, "regulation.submitted")


def decide_regulation(
    session: Session,
    version: RegulationVersion,
    *,
    principal: Principal,
    municipality_code: str,
    acknowledge: bool,
    comment: str | None = None,
) -> RegulationVersion:
    """The ministry acknowledges a submitted version, or returns it with comments (required)."""
    text = (comment or "").strip()
    if not acknowledge and not COMMENT_MIN <= len(text) <= COMMENT_MAX:
        raise DomainError(
            "regulations.comment_required",
            422,
            COMMENT_REQUIRED,
            field="comment",
            low=COMMENT_MIN,
            high=COMMENT_MAX,
        )
    _require(version, RegulationStatus.SUBMITTED, ACKNOWLEDGING if acknowledge else RETURNING)
    status = RegulationStatus.ACKNOWLEDGED if acknowledge else RegulationStatus.RETURNED
    now = utcnow()
    version.status = status
    version.decided_by = principal.subject
    version.decided_at = now
    version.ministry_comment = text or None
    submission = session.get(
        RegulationSubmission, (municipality_code, version.id), with_for_update=True
    )
    assert submission is not None  # inserted with the submission, in the same transaction
    submission.status = status
    submission.decided_at = now
    submission.ministry_comment = text or None
    return _changed(session, version, principal.subject, f"regulation.{status}")
