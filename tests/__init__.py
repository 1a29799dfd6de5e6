"""Kentra test suites; benchmarks live in tests/benchmarks (make bench).

Importing the package installs the domain modules' steps into tenants/ (ADR 0030), as the
app and the ``kentra`` command do: the suites and the benchmarks provision and upgrade
directly, without the app.
"""

from kentra.platform.app import wiring

wiring.install()
