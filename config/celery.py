"""The Celery app (K2).

`acks_late` and `task_reject_on_worker_lost` (set in settings) mean a task whose worker
dies half-way is delivered again; every task is written to be safe to run twice (X4).
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="portal.health", ignore_result=False)  # its answer is the point
def health() -> dict[str, str]:
    """Round-trip through the broker, a worker and the database, for monitoring."""
    import socket

    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        (one,) = cursor.fetchone()
    return {
        "status": "ok" if one == 1 else "database-error",
        "database": connection.vendor,
        "worker": socket.gethostname(),
    }
