"""``[core] hostname_callable`` for the test's Celery workers, which share one machine: the
name the test gave the worker (``CSP_TEST_WORKER_NAME``), as a container's host name would be."""
import os


def hostname() -> str:
    return os.environ["CSP_TEST_WORKER_NAME"]
