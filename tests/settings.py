"""The settings of the test run: production's (DEBUG off), served over plain http by the test
client and live servers, with a throw-away key.

They are set in the environment, not here, so that the processes the tests start (Celery
workers, gunicorn, `manage.py`) read the same ones from `config.settings`.
"""

import os

os.environ.setdefault("SECRET_KEY", "tests-only-key-never-used-outside-the-test-run-0123456789")
os.environ.setdefault("SERVED_OVER_HTTPS", "false")

from config.settings import *  # noqa: F403
