"""Real concurrency for tests: every worker is a thread with its own database connection,
and a barrier lets them all go at once."""

import threading
from collections.abc import Callable

from django.db import connection

WAIT_SECONDS = 30  # a worker still running after this is stuck (a deadlock, a lost wake-up)


def run_together(*tasks: Callable[[], object]) -> list[object]:
    """Run each task in its own thread and connection, all released at once by a barrier.
    Returns, in the tasks' order, what each returned or the exception it raised."""
    barrier = threading.Barrier(len(tasks), timeout=WAIT_SECONDS)
    outcomes: list[object] = [None] * len(tasks)

    def work(index: int, task: Callable[[], object]) -> None:
        try:
            connection.ensure_connection()  # connect first, so the race is on the ledger
            barrier.wait()
            outcomes[index] = task()
        except Exception as error:
            outcomes[index] = error
        finally:
            connection.close()

    threads = [
        threading.Thread(target=work, args=(index, task), daemon=True)
        for index, task in enumerate(tasks)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_SECONDS)
    assert [thread.is_alive() for thread in threads] == [False] * len(threads), "stuck workers"
    return outcomes
