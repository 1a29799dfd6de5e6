"""Background jobs as the ministry sees them: the fan-out runs (``shared.fanout_runs``,
:mod:`kentra.tasks.fanout`, ADR 0036) — which task, who started it, its progress over the
municipalities, how long it took, and which municipalities failed (by name, with the type of
the error, never its message)."""
