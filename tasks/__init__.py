"""Background work (Celery): the app, the tenant-aware task base, jobs."""

from kentra.tasks.celery_app import celery, worker_command

app = celery

__all__ = ["app", "celery", "worker_command"]
