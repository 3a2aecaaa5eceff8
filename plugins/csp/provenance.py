"""Who and what staged or loaded a return: the audit fields of the returns ledger and of
staging.loaded_returns.

- ``dag_id``, ``run_id``, ``task_id``, ``try_number``: the Airflow task instance, when the work
  ran inside one (None for ``csp history`` or a test calling the functions directly).
- ``hostname``: ``socket.gethostname()`` (in the compose stack, the worker container's id).
- ``os_user``: the operating-system account the process runs as (the image's service account
  ``airflow`` in a deployment).
- ``code_version``: ``CSP_CODE_VERSION`` when set (the Dockerfile sets it at build time, as the
  image has no .git), else the installed ``csp-platform`` version plus ``+g<commit>`` when the
  project is a git checkout (read from .git files, no git process).
"""
from __future__ import annotations

import getpass
import importlib.metadata
import os
import socket
from functools import lru_cache
from pathlib import Path

from csp.config import PROJECT_DIR

CODE_VERSION_ENV = "CSP_CODE_VERSION"
DISTRIBUTION = "csp-platform"
TASK_FIELDS = ("dag_id", "run_id", "task_id", "try_number")
PROCESS_FIELDS = ("hostname", "os_user", "code_version")
FIELDS = TASK_FIELDS + PROCESS_FIELDS


def git_commit(project_dir: Path = PROJECT_DIR) -> str | None:
    """The checked-out commit, read from .git/HEAD (and the ref or packed-refs it names)."""
    git = project_dir / ".git"
    head_file = git / "HEAD"
    if not head_file.is_file():
        return None  # no checkout (an installed image), or a worktree/submodule's .git file
    head = head_file.read_text().strip()
    if not head.startswith("ref: "):
        return head  # detached HEAD: the commit itself
    ref = head.removeprefix("ref: ")
    loose = git / ref
    if loose.is_file():
        return loose.read_text().strip()
    packed = git / "packed-refs"
    if packed.is_file():
        for line in packed.read_text().splitlines():
            commit, _, name = line.partition(" ")
            if name == ref:
                return commit
    return None  # a branch with no commit yet


@lru_cache(maxsize=1)
def _installed_version() -> str:
    try:
        version = importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    commit = git_commit()
    return f"{version}+g{commit[:12]}" if commit else version


def code_version() -> str:
    return os.environ.get(CODE_VERSION_ENV) or _installed_version()


def os_user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        # A container user with no passwd entry and no USER/LOGNAME: the numeric id is still
        # an exact answer.
        return f"uid:{os.getuid()}"


def process_provenance() -> dict:
    return {"hostname": socket.gethostname(), "os_user": os_user(), "code_version": code_version()}


def task_provenance(context) -> dict:
    """The task instance's identity from an Airflow task context."""
    ti = context["ti"]
    return {"dag_id": ti.dag_id, "run_id": ti.run_id, "task_id": ti.task_id,
            "try_number": int(ti.try_number)}


def complete(provenance: dict | None) -> dict:
    """Every audit field: the given task fields (unknown keys refused) over this process's."""
    given = dict(provenance or {})
    if unknown := set(given) - set(FIELDS):
        raise ValueError(f"unknown provenance fields: {sorted(unknown)} (known: {FIELDS})")
    return {**dict.fromkeys(TASK_FIELDS), **process_provenance(), **given}
