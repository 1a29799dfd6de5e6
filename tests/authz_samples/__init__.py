"""Sample objects for the authorization matrix (tests/test_authorization.py).

Each module here defines:

- ``prepare(engine, unit_ids) -> dict[str, str]``: create what its routes' URL arguments name,
  in both municipalities of the matrix (4501 and 7101) under the *same* id (identity columns
  accept explicit values; use ids from 999_000_000 up so that they never meet real rows), and
  return the sample value of each argument, e.g. ``{"staff_id": "999000101"}``.
  ``unit_ids`` maps "own centre", "own annex", "other centre" (4501) and "other tenant's
  centre" (7101) to unit ids.
- ``cleanup(engine) -> None``: remove them.

A GET from an allowed role must answer 200 for the sample, so the objects must exist and be
in a state where reading them succeeds.
"""
