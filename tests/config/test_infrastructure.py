"""The servers `make test` starts are the ones the suite really uses."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from celery.result import allow_join_result
from django.db import connection

from config.celery import app, health

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_suite_runs_on_postgresql():
    assert connection.vendor == "postgresql"


@pytest.fixture
def celery_worker_process():
    """A real worker, in its own process, against the Redis that `make test` started."""
    worker = subprocess.Popen(
        [
            sys.executable, "-m", "celery", "-A", "config", "worker",
            "--pool=solo", "--concurrency=1", "--without-mingle", "--without-gossip",
            "--loglevel=WARNING",
        ],
        cwd=ROOT,
        env={**os.environ},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    app.conf.task_always_eager = False
    yield worker
    worker.terminate()
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()


@pytest.mark.redis
@pytest.mark.postgres
def test_a_real_celery_worker_runs_the_health_task(celery_worker_process):
    # Given a worker process started on the test's Redis
    # When the health task is sent through the broker
    started = time.monotonic()
    result = health.delay()
    try:
        # Eager tasks run in other tests' threads flip Celery's process-wide "inside a task"
        # flag without a lock; this test is not inside a task, so allow the join explicitly.
        with allow_join_result():
            outcome = result.get(timeout=60)
    except Exception:
        celery_worker_process.terminate()
        output, _ = celery_worker_process.communicate(timeout=20)
        pytest.fail(f"worker did not answer after {time.monotonic() - started:.0f}s:\n{output}")
    # Then the worker ran it, touched PostgreSQL, and the result came back through Redis
    assert outcome == {"status": "ok", "database": "postgresql", "worker": socket.gethostname()}


def test_tasks_acknowledge_late_and_are_redelivered_when_a_worker_dies():
    """X4: a task killed half-way is delivered again (and tasks are written to be re-run)."""
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1


def test_a_dead_workers_messages_come_back_in_ten_minutes_not_an_hour():
    """X4: after a whole worker dies its unacknowledged messages wait the broker's visibility
    timeout; it stays above the furthest retry a task holds with an ETA, or those would be
    delivered twice while waiting."""
    from webhooks.tasks import SCHEDULE_WITHIN

    timeout = app.conf.broker_transport_options["visibility_timeout"]
    assert timeout == 600
    assert timeout > SCHEDULE_WITHIN.total_seconds()
