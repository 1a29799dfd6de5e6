"""RecordChanged: the event of one record's change names the object its audit entry is for."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pytest

from kentra.platform.regulations.events import RegulationChanged
from kentra.platform.staff.events import StaffChanged
from kentra.platform.units.events import UnitChanged
from kentra.tasks.events import RecordChanged


@pytest.mark.parametrize(
    ("event", "object_type", "object_id"),
    [
        (UnitChanged(7), "unit", "7"),
        (StaffChanged(12), "staff_member", "12"),
        (RegulationChanged(3), "regulation", "3"),
    ],
)
def test_a_record_event_names_its_object_by_its_one_id(
    event: RecordChanged, object_type: str, object_id: str
) -> None:
    assert (event.object_type, event.object_id) == (object_type, object_id)


def test_an_event_of_two_ids_is_not_one_record() -> None:
    @dataclass(frozen=True)
    class PairChanged(RecordChanged):
        object_type: ClassVar[str] = "pair"
        left_id: int
        right_id: int

    with pytest.raises(ValueError, match="too many values"):
        _ = PairChanged(1, 2).object_id
