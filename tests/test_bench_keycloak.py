"""The Keycloak benchmark's own logic without a Keycloak (tests/benchmarks/idp.py, make bench):
timing a start through a stand-in for keycloak.sh, reading the import from Keycloak's log, and
the figures of a run."""

from __future__ import annotations

import stat
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.benchmarks import idp
from tests.benchmarks.results import BenchmarkFailure, BenchOutcome

FIRST_START_LOG = """\
2026-12-07 23:59:58,100 INFO  [io.quarkus] (main) Keycloak 26.7.3 on JVM (powered by Quarkus 3.33.3.1) started in 5.767s.
2026-12-07 23:59:59,430 INFO  [org.keycloak.exportimport.singlefile.SingleFileImportProvider] \
(executor-thread-1) Full importing from file /x/data/import/realm-kentra.json
2026-12-08 00:00:01,150 INFO  [org.keycloak.exportimport.util.ImportUtils] (executor-thread-1) \
Realm 'kentra' imported
"""
RESTART_LOG = """\
2026-12-07 06:05:52,430 INFO  [org.keycloak.exportimport.singlefile.SingleFileImportProvider] \
(executor-thread-1) Full importing from file /x/data/import/realm-kentra.json
2026-12-07 06:05:52,685 INFO  [org.keycloak.exportimport.util.ImportUtils] (executor-thread-1) \
Realm 'kentra' already exists. Import skipped
"""
# keycloak.sh's contract as the benchmark reads it: the pid file right after the JVM's launch,
# its own lines on stdout, Keycloak's log in <KENTRA_SERVICES_DIR>/keycloak/keycloak.log.
FAKE_SCRIPT = """#!/bin/sh
run="$KENTRA_SERVICES_DIR/keycloak"
mkdir -p "$run"
[ "$1" = start ] || exit 0
echo "keycloak   built (--db=dev-file) in 12.5 s"
sleep 0.2
echo 4242 >"$run/keycloak.pid"
printf '%s\\n' "$FAKE_LOG" >"$run/keycloak.log"
sleep 0.4
touch "$run/ready"
sleep 0.2
echo "keycloak   ready in 0.6 s (start to /health/ready; pid 4242)"
exit "${FAKE_EXIT:-0}"
"""


@dataclass(frozen=True)
class FakeInstance(idp.Instance):
    """Ready once the fake script says so (no management port to poll)."""

    def ready(self) -> bool:
        return (self.run_dir / "ready").exists()


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeInstance:
    script = tmp_path / "keycloak.sh"
    script.write_text(FAKE_SCRIPT)
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("FAKE_LOG", FIRST_START_LOG)
    return FakeInstance(1, 2, "secret", state_dir=tmp_path / "state", script=script)


def test_a_start_is_timed_from_the_jvms_launch_to_ready(fake: FakeInstance, tmp_path: Path) -> None:
    started = idp.start(fake, tmp_path / "start.out")

    # From the pid file (0.2 s in) to ready (0.6 s in): neither the build before the launch
    # nor keycloak.sh's work after readiness counts.
    assert 0.3 <= started.ready_s < 0.6
    assert started.script_s >= 0.8
    assert started.built_s == 12.5
    assert idp.startup_import_s(started.log) == pytest.approx(1.72)
    assert "ready in 0.6 s" in started.output
    assert (tmp_path / "start.log").read_text().startswith("2026-12-07 23:59:58,100")
    assert started.quarkus_s == 5.767


def test_a_failing_start_is_the_benchmarks_error(
    fake: FakeInstance, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_EXIT", "1")
    with pytest.raises(BenchmarkFailure, match=r"keycloak.sh start failed \(exit 1\)"):
        idp.start(fake, tmp_path / "start.out")


def test_a_stale_pid_file_is_not_taken_for_the_launch(tmp_path: Path) -> None:
    pid_file = tmp_path / "keycloak.pid"
    pid_file.write_text("1\n")
    written = pid_file.stat().st_mtime
    assert idp.launched_at(pid_file, written + 5) is None
    assert idp.launched_at(pid_file, written - 5) == written
    assert idp.launched_at(tmp_path / "absent.pid", 0) is None


def test_the_import_is_read_only_when_one_happened() -> None:
    assert idp.startup_import_s(RESTART_LOG) is None
    assert idp.startup_import_s("") is None
    # Across midnight: 23:59:59.430 to 00:00:01.150.
    assert idp.startup_import_s(FIRST_START_LOG) == pytest.approx(1.72)


def a_start(
    ready_s: float, log: str, output: str = "", cpu_wait_pct: float | None = None
) -> idp.Start:
    return idp.Start(ready_s, ready_s + 2, output, log, cpu_wait_pct)


def measured(first_output: str = "", same_principal: bool = True) -> idp.Measured:
    timings = {
        ("keycloak", False): [50.0, 60.0, 70.0],
        ("keycloak", True): [10.0, 11.0, 12.0],
        ("embedded", False): [55.0, 65.0, 75.0],
        ("embedded", True): [9.0, 10.0, 11.0],
    }
    return idp.Measured(
        first=a_start(20.5, FIRST_START_LOG, first_output),
        restart=a_start(13.9, RESTART_LOG, cpu_wait_pct=37.2),
        stop_s=3.1,
        imports=idp.Imports(import_s=[4.1, 1.3, 2.6, 1.9, 2.2], delete_s=[1.0] * 5),
        timings=timings,
        token_bytes={"keycloak": 1285, "embedded": 1340},
        claims={"keycloak": ["exp", "sub"], "embedded": ["exp", "nbf", "sub"]},
        same_principal=same_principal,
        seed_s=5.4,
    )


def test_the_figures_of_a_run() -> None:
    outcome = BenchOutcome("keycloak", "Keycloak")
    idp.report(outcome, measured())
    figures = {figure.key: figure for figure in outcome.figures}

    assert figures["kc.validate_keycloak_p50_us"].value == 60.0
    assert figures["kc.validate_embedded_p50_us"].value == 65.0
    assert figures["kc.validate_keycloak_cached_p50_us"].value == 11.0
    assert figures["kc.validate_embedded_cached_p95_us"].value == pytest.approx(10.9)
    assert figures["kc.token_bytes_keycloak"].value_text == "1285 bytes"
    assert figures["kc.token_bytes_embedded"].note == "3 claims"
    assert figures["kc.first_start_ready_s"].value == 20.5
    assert figures["kc.restart_ready_s"].value == 13.9
    assert figures["kc.restart_ready_s"].note == (
        "after keycloak.sh stop in 3.1 s; "
        "CPU pressure during it: some task waited 37 % of the time (PSI)"
    )
    assert figures["kc.first_start_ready_s"].note == ""  # the kernel did not say
    assert figures["kc.startup_import_s"].value == pytest.approx(1.72)
    assert figures["kc.admin_import_s"].value == 2.2
    assert all(figure.target is None for figure in outcome.figures)
    (note,) = outcome.notes
    assert "empty H2 database" in note
    assert "not counted" not in note  # no build in this run
    assert outcome.details["restart"]["startup_import_s"] is None


def test_a_run_that_built_the_release_says_so_and_a_principal_mismatch_shows() -> None:
    outcome = BenchOutcome("keycloak", "Keycloak")
    output = "keycloak   built (--db=dev-file --health-enabled=true) in 38.5 s\n"
    idp.report(outcome, measured(first_output=output, same_principal=False))

    (note,) = outcome.notes
    assert "unpacked and built the release first (38 s of Quarkus build" in note
    assert "did NOT give the same Principal" in note
    assert outcome.details["first_start"]["built_s"] == 38.5
