"""B6 keyset paging: page 1 and page 1,000 of a 100,000-row list cost the same (ADR 0040).

A scratch table (``bench_paging.items``: id, a name, a number; 100,000 rows written by COPY,
an index on the list's sort key ``(name, id)``) is read a page of 50 at a time through the
platform's paginator, :func:`kentra.platform.core.paging.page_of` (sqlakeyset): page 1 (no
cursor) and page 1,000 (the cursor a client holds after page 999, made from the last row of
page 999 by :func:`~kentra.platform.core.paging.keyset_cursor`, the same bytes ``page_of``
answers). Beside it, in the same run and on the same session, the OFFSET baseline the
paginator replaces: the same query with ``OFFSET 0`` and ``OFFSET 49,950``.

Judged: page 1,000 by keyset costs at most 1.5 times page 1 (p50). The OFFSET figures are
information: they show what the cursor saves.
"""

from __future__ import annotations

import random
import time

from sqlalchemy import BigInteger, Column, Integer, MetaData, Table, Text, select, text
from sqlalchemy.orm import Session

from kentra.platform.core.paging import keyset_cursor, page_of
from tests.benchmarks.database import BenchDatabase
from tests.benchmarks.results import BenchOutcome, Figure, elapsed_ms, p50, p95, rounded

ROWS = 100_000
PER_PAGE = 50
FAR_PAGE = 1_000
WARMUP = 20
REQUESTS = 200
TARGET_RATIO = 1.5
ORDER = "name"
SCHEMA = "bench_paging"

ITEMS = Table(
    "items",
    MetaData(schema=SCHEMA),
    Column("id", BigInteger, primary_key=True),
    Column("name", Text, nullable=False),
    Column("size", Integer, nullable=False),
)
QUERY = select(ITEMS.c.id, ITEMS.c.name, ITEMS.c.size).order_by(ITEMS.c.name, ITEMS.c.id)


def run(db: BenchDatabase, outcome: BenchOutcome) -> None:
    fill(db, outcome)
    with Session(db.engine) as session:
        far_offset = (FAR_PAGE - 1) * PER_PAGE
        before = session.execute(QUERY.offset(far_offset - 1).limit(1)).one()
        far_cursor = keyset_cursor(ORDER, (before.name, before.id))
        first = page_of(session, QUERY, order=ORDER, per_page=PER_PAGE)
        far = page_of(session, QUERY, cursor=far_cursor, order=ORDER, per_page=PER_PAGE)
        by_offset = session.execute(QUERY.offset(far_offset).limit(PER_PAGE)).all()
        # The cursor reaches the page OFFSET reaches, and page 1 leads on with a cursor.
        assert [row.id for row in far.items] == [row.id for row in by_offset]
        assert first.next_cursor is not None
        assert len(far.items) == PER_PAGE

        timings = {
            "keyset_first": lambda: page_of(session, QUERY, order=ORDER, per_page=PER_PAGE),
            "keyset_far": lambda: page_of(
                session, QUERY, cursor=far_cursor, order=ORDER, per_page=PER_PAGE
            ),
            "offset_first": lambda: session.execute(QUERY.offset(0).limit(PER_PAGE + 1)).all(),
            "offset_far": lambda: session.execute(
                QUERY.offset(far_offset).limit(PER_PAGE + 1)
            ).all(),
        }
        samples: dict[str, list[float]] = {name: [] for name in timings}
        for _ in range(WARMUP):
            for read in timings.values():
                read()
        for _ in range(REQUESTS):
            # Interleaved, so that the four see the same load of the machine.
            for name, read in timings.items():
                started = time.perf_counter()
                read()
                samples[name].append(elapsed_ms(started))
        session.rollback()

    keyset_ratio = p50(samples["keyset_far"]) / p50(samples["keyset_first"])
    offset_ratio = p50(samples["offset_far"]) / p50(samples["offset_first"])
    outcome.add(
        median_figure(
            samples,
            "keyset_first",
            f"Keyset page 1 of {ROWS:,} rows (page_of, {PER_PAGE} a page), p50",
        )
    )
    outcome.add(
        median_figure(samples, "keyset_far", f"Keyset page {FAR_PAGE:,} (by its cursor), p50")
    )
    outcome.add(
        Figure(
            "paging_keyset_ratio",
            f"Keyset page {FAR_PAGE:,} / page 1 (p50)",
            keyset_ratio,
            "x",
            target=TARGET_RATIO,
        )
    )
    outcome.add(median_figure(samples, "offset_first", "OFFSET baseline: page 1, p50"))
    outcome.add(
        median_figure(
            samples,
            "offset_far",
            f"OFFSET baseline: page {FAR_PAGE:,} (OFFSET {(FAR_PAGE - 1) * PER_PAGE:,}), p50",
        )
    )
    outcome.add(
        Figure(
            "paging_offset_ratio",
            f"OFFSET page {FAR_PAGE:,} / page 1 (p50)",
            offset_ratio,
            "x",
        )
    )
    outcome.details["samples_ms"] = {name: rounded(values) for name, values in samples.items()}
    outcome.notes.append(
        f"{ROWS:,} rows in a scratch table filled by COPY, sorted by (name, id) with an index on "
        f"it; {REQUESTS} reads of each page after {WARMUP} warm-up rounds, the four reads "
        "interleaved. Keyset: platform.core.paging.page_of (sqlakeyset), the far page by the "
        "cursor a client holds after page 999. OFFSET: the same query with OFFSET and LIMIT."
    )
    with db.engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {SCHEMA} CASCADE"))


def median_figure(samples: dict[str, list[float]], key: str, label: str) -> Figure:
    """The p50 of one read's samples, in ms, its p95 in the note."""
    return Figure(
        f"paging_{key}_p50_ms",
        label,
        p50(samples[key]),
        "ms",
        note=f"p95 {p95(samples[key]):.2f} ms",
    )


def fill(db: BenchDatabase, outcome: BenchOutcome) -> None:
    """The scratch table, 100,000 rows by COPY, indexed on the sort key, analysed."""
    started = time.perf_counter()
    rng = random.Random(12)
    with db.engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {SCHEMA}"))
        ITEMS.create(conn)
        driver = conn.connection.driver_connection
        assert driver is not None
        statement = f"COPY {SCHEMA}.items (id, name, size) FROM STDIN"
        with driver.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[attr-defined]
            for row_id in range(1, ROWS + 1):
                name = "".join(rng.choices("αβγδεζηθικλμνξοπρστυφχψω", k=12))
                copy.write_row((row_id, name, rng.randint(0, 1_000)))
        conn.execute(text(f"CREATE INDEX items_name_id ON {SCHEMA}.items (name, id)"))
        conn.execute(text(f"ANALYZE {SCHEMA}.items"))
    outcome.details["fill_ms"] = round(elapsed_ms(started), 1)
