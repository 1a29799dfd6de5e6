"""The Celery application: ``celery -A kentra.tasks worker``.

Broker and result backend come from the same settings as the web process: the configured
Redis/RabbitMQ, else kombu's SQLAlchemy transport on the platform's PostgreSQL (no extra
server, and still a real worker process).
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from celery import Celery
from celery.schedules import crontab
from celery.signals import setup_logging

from kentra.platform.core.config import (
    DEFAULT_PREPARE_THRESHOLD,
    Settings,
    broker_url,
    result_backend,
)
from kentra.platform.core.database import connect_args
from kentra.platform.core.logging import configure_logging

TASK_MODULES = [
    "kentra.tasks.fanout",
    "kentra.platform.municipalities.probes",
    "kentra.platform.compliance.tasks",
    "kentra.platform.staff.tasks",
]


class KentraCelery(Celery):
    """Resolves broker and backend on first use, so importing the app starts nothing."""

    def __init__(self, settings: Settings | None = None) -> None:
        super().__init__("kentra", include=TASK_MODULES)
        self._kentra_settings = settings
        self.add_defaults(self._connection_defaults)

    @property
    def settings(self) -> Settings:
        if self._kentra_settings is None:
            self._kentra_settings = Settings.from_env()
        return self._kentra_settings

    def _connection_defaults(self) -> dict[str, Any]:
        settings = self.settings
        defaults: dict[str, Any] = {
            "broker_url": broker_url(settings),
            "result_backend": result_backend(settings),
            # The result backend's engine (db+…), like the platform's: no bound parameters in
            # its errors, and the same prepared-statement setting (off behind PgBouncer).
            "database_engine_options": {
                "hide_parameters": True,
                "connect_args": connect_args(settings.db_prepare_threshold),
            },
        }
        if settings.broker_url is None and settings.db_prepare_threshold != (
            DEFAULT_PREPARE_THRESHOLD
        ):
            # kombu's SQLAlchemy transport hands its transport options to create_engine.
            defaults["broker_transport_options"] = {
                "connect_args": connect_args(settings.db_prepare_threshold)
            }
        return defaults


def create_celery(settings: Settings | None = None) -> KentraCelery:
    app = KentraCelery(settings)
    app.conf.update(
        broker_connection_retry_on_startup=True,
        # No polling_interval in broker_transport_options: kombu's SQLAlchemy transport hands
        # every option to create_engine, which refuses it; so it polls each second.
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        result_extended=True,
        timezone="Europe/Athens",
        enable_utc=True,
        # One beat process (`celery -A kentra.tasks beat`; `make run` embeds it in its worker).
        beat_schedule={
            "compliance-daily": {
                "task": "kentra.compliance.recompute_daily",
                "schedule": crontab(hour=0, minute=30),  # Athens time, after midnight
            },
            # Contracts whose end was entered in advance: their accounts close the day after.
            "staff-offboarding-daily": {
                "task": "kentra.staff.disable_ended_accounts",
                "schedule": crontab(hour=0, minute=15),
            },
        },
    )
    return app


celery = create_celery()


@setup_logging.connect
def _worker_logging(**_kwargs: Any) -> None:
    """Worker logs are the same JSON lines as the web's, with the task's tenant code. A failed
    task is logged by its name, id, exception type and frames: configure_logging's filter and
    formatters take the exception's text and the task's arguments out of Celery's record."""
    settings = celery.settings
    configure_logging(settings.log_level, json_format=settings.log_json)
    # Celery logs each task's arguments on receipt and its return value on success; either may
    # one day carry personal data, so only their warnings and errors are kept.
    for name in ("celery.worker.strategy", "celery.app.trace"):
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLogger().level))


def worker_command(*options: str) -> list[str]:
    """The argv of a Celery worker process of this app (this interpreter), with ``options``:
    for the development server, the tests and the benchmarks."""
    return [sys.executable, "-m", "celery", "-A", "kentra.tasks", "worker", *options]
