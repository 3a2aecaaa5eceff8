"""The real Airflow 3 services for an end-to-end test, as the deployment runs them: a fresh
AIRFLOW_HOME on a PostgreSQL metadata database, ``airflow api-server``, ``scheduler``,
``dag-processor`` and ``triggerer``, and the CeleryExecutor's ``airflow celery worker``
processes on a Redis broker, each a subprocess in its own session (stopping one stops the
processes it spawned); and a REST API v2 client that logs in through SimpleAuthManager's token
endpoint.

The workers share this machine, where the deployment gives each its own container: each gets
its own task-log server port and its own host name for Airflow (``[core] hostname_callable``,
read from ``CSP_TEST_WORKER_NAME`` by support.worker_identity), so the UI and the REST API say
which worker ran which task, as they would with containers.
"""
from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml

AIRFLOW = str(Path(sys.executable).with_name("airflow"))
SERVICES = ("api-server", "scheduler", "dag-processor", "triggerer")
PROJECT_DIR = Path(__file__).resolve().parents[2]
TESTS_DIR = Path(__file__).resolve().parents[1]
USERNAME = "csp_operator"
# SimpleAuthManager roles: viewer < user < op < admin. "user" may unpause, trigger and read
# logs, which is everything the operator does here: no more is granted.
ROLE = "user"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def compose_setting(name: str) -> str:
    """A setting of the deployment's common environment (docker-compose.yaml), so the test
    runs with the deployment's value rather than a copy of it."""
    compose = yaml.safe_load((PROJECT_DIR / "docker-compose.yaml").read_text())
    return str(compose["x-airflow-common"]["environment"][name])


@dataclass(frozen=True)
class Broker:
    """A Redis broker for one test: its URL and a key prefix no other test run shares."""

    url: str
    key_prefix: str


def celery_environment(broker: Broker, metadata_url: str) -> dict[str, str]:
    """The CeleryExecutor as docker-compose.yaml configures it, on this test's broker."""
    return {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CELERY__BROKER_URL": broker.url,
        # Celery's database result backend on the metadata database, with the driver of the URL given
        # (psycopg2, as docker-compose.yaml has it).
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + metadata_url,
        "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT":
            compose_setting("AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT"),
        # Other engineers' test runs may share the machine's Redis: every key (queues, unacked
        # messages, broadcasts) of this run carries its own prefix.
        "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__GLOBAL_KEYPREFIX": broker.key_prefix,
        # Sending a task to the broker may take more than the default 1 s on a loaded machine.
        "AIRFLOW__CELERY__OPERATION_TIMEOUT": "10",
    }


def airflow_environment(home: Path, *, metadata_url: str, dags_folder: Path, port: int,
                        password_file: Path, project_env: dict[str, str],
                        executor_env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment every service (and every task process they spawn) runs with. Inherited
    AIRFLOW_* / CSP_* variables (the test session's own Airflow home, a developer's settings)
    are dropped, so the services see exactly this configuration."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "CSP_"))}
    base_url = f"http://127.0.0.1:{port}"
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_url,
        # Airflow would derive the async URL with asyncpg, which is not installed; psycopg 3
        # (the project's driver) is async-capable under the same URL.
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": metadata_url,
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
        # The test unpauses the DAGs through the REST API, as an operator would.
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        # Two shared cores: four task processes at once keep them busy without thrashing
        # (every ingest task imports pandas and Great Expectations).
        "AIRFLOW__CORE__PARALLELISM": "4",
        # Task processes report to the execution API of *this* api-server, on its free port.
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base_url}/execution/",
        "AIRFLOW__API__BASE_URL": base_url,
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        # One uvicorn worker: the default four would cost ~1 GiB and a core for nothing here.
        "AIRFLOW__API__WORKERS": "1",
        # One signing secret for every process: the scheduler issues the task processes' tokens
        # and the api-server verifies them (and the operator's login token).
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
        "AIRFLOW__API__SECRET_KEY": secrets.token_hex(32),
        "AIRFLOW__CORE__FERNET_KEY": _fernet_key(),
        "AIRFLOW__CORE__AUTH_MANAGER":
            "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USERNAME}:{ROLE}",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(password_file),
        # Look at the DAG folder every 5 s (default 300 s) so the DAGs appear within seconds
        # of the dag-processor starting; listing two files costs nothing.
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        # The DAG files do not change during the test: parse each once, not every 30 s, so
        # re-parsing does not compete with the tasks for the two cores.
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "600",
        "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
        # Scheduler loop: sleep at most 0.5 s when idle (default 1 s) and heartbeat every 2 s
        # (default 5 s), so a finished task's successor is queued within a second or two.
        "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.5",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
        # Nothing here defers; a small triggerer keeps its footprint small.
        "AIRFLOW__TRIGGERER__CAPACITY": "10",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        # The project's plugins folder: the returns tracker (plugins/returns_tracker.py).
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_DIR / "plugins"),
    })
    env.update(executor_env or {})
    env.update(project_env)
    return env


def _fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def write_password_file(path: Path) -> str:
    """SimpleAuthManager's passwords file ({"user": "password"}); returns the password."""
    password = secrets.token_urlsafe(16)
    path.write_text(json.dumps({USERNAME: password}) + "\n")
    path.chmod(0o600)
    return password


@dataclass
class AirflowServices:
    """The four long-running services, started in order and stopped together."""

    home: Path
    env: dict[str, str]
    port: int
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    killed: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def service_log_dir(self) -> Path:
        return self.home / "service-logs"

    def migrate(self) -> None:
        result = subprocess.run([AIRFLOW, "db", "migrate"], env=self.env, capture_output=True,
                                text=True, timeout=300)
        if result.returncode:
            raise RuntimeError(f"airflow db migrate failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")

    def start(self) -> None:
        self.service_log_dir.mkdir(parents=True, exist_ok=True)
        for name in SERVICES:
            command = [AIRFLOW, name] + (["--port", str(self.port)] if name == "api-server" else [])
            with (self.service_log_dir / f"{name}.log").open("wb") as log:
                # A new session makes each service a process-group leader: stopping the group
                # also stops the LocalExecutor workers and the task processes they fork.
                self.processes[name] = subprocess.Popen(
                    command, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL, start_new_session=True)

    def check_alive(self) -> None:
        """Raise naming the service (with the tail of its output) if one has exited."""
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"airflow {name} exited with {process.returncode}:\n{self.output_tail(name)}")

    def output_tail(self, name: str, chars: int = 4000) -> str:
        name = name.replace("worker ", "worker-")
        path = self.service_log_dir / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def wait_until_healthy(self, timeout: float = 120) -> None:
        """The api-server answers and reports the metadata database, scheduler, dag-processor
        and triggerer healthy (each has heartbeated)."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                last = httpx.get(f"{self.base_url}/api/v2/monitor/health", timeout=5).json()
                components = ("metadatabase", "scheduler", "dag_processor", "triggerer")
                if all(last.get(c, {}).get("status") == "healthy" for c in components):
                    return
            except httpx.HTTPError as error:
                last = repr(error)
            time.sleep(1)
        raise TimeoutError(f"Airflow services not healthy after {timeout:.0f} s: {last}")

    def start_worker(self, name: str, queues: list[str], concurrency: int) -> None:
        """``airflow celery worker`` serving ``queues``, known to Airflow as host ``name``."""
        env = {
            **self.env,
            "CSP_TEST_WORKER_NAME": name,
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "support.worker_identity.hostname",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(TESTS_DIR), self.env.get("PYTHONPATH")])),
            # Each worker serves its task logs on a port of its own (the default 8793 once).
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        }
        command = [AIRFLOW, "celery", "worker", "--queues", ",".join(queues), "--concurrency", str(concurrency),
                   "--celery-hostname", f"{name}@%h"]
        self.service_log_dir.mkdir(parents=True, exist_ok=True)
        with (self.service_log_dir / f"worker-{name}.log").open("wb") as log:
            self.processes[f"worker {name}"] = subprocess.Popen(
                command, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)

    def wait_for_workers(self, names: list[str], timeout: float = 180) -> None:
        """Until each worker has connected to the broker and says it is ready."""
        deadline = time.monotonic() + timeout
        waiting = set(names)
        while waiting and time.monotonic() < deadline:
            self.check_alive()
            waiting = {n for n in waiting if f"{n}@" not in self.output_tail(f"worker-{n}", 200_000)
                       or " ready." not in self.output_tail(f"worker-{n}", 200_000)}
            time.sleep(1)
        if waiting:
            raise TimeoutError(f"Celery workers not ready after {timeout:.0f} s: {sorted(waiting)}")

    def kill_worker(self, name: str) -> list[int]:
        """SIGKILL a worker and every process under it at once (a machine or container lost):
        the Celery pool, and the task processes the supervisor starts in groups of their own."""
        import psutil

        process = self.processes.pop(f"worker {name}")
        root = psutil.Process(process.pid)
        victims = [root, *root.children(recursive=True)]
        for victim in victims:
            with contextlib.suppress(psutil.NoSuchProcess):
                victim.kill()
        process.wait(timeout=30)
        self.killed[name] = process
        return [v.pid for v in victims]

    def stop(self, grace: float = 20) -> None:
        """SIGTERM every service's process group, then SIGKILL what is left after ``grace``."""
        for process in self.processes.values():
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait(timeout=10)
        for process in self.processes.values():
            # Task processes that outlived their service's exit are in the same group.
            _signal_group(process, signal.SIGKILL)


def _signal_group(process: subprocess.Popen, signum: int) -> None:
    try:
        os.killpg(process.pid, signum)
    except ProcessLookupError:
        return  # the whole group has already exited


class AirflowApi:
    """REST API v2 as an operator uses it: log in for a JWT, then send it as a Bearer token."""

    def __init__(self, base_url: str, username: str, password: str):
        self.base_url = base_url
        response = httpx.post(f"{base_url}/auth/token", json={"username": username, "password": password},
                              timeout=30)
        response.raise_for_status()
        self.token = response.json()["access_token"]
        self.client = httpx.Client(base_url=f"{base_url}/api/v2", timeout=30,
                                   headers={"Authorization": f"Bearer {self.token}"})

    def close(self) -> None:
        self.client.close()

    def _json(self, response: httpx.Response) -> dict:
        if response.is_error:
            raise RuntimeError(f"{response.request.method} {response.request.url} -> "
                               f"{response.status_code}: {response.text[:2000]}")
        return response.json()

    def get(self, path: str, **params) -> dict:
        return self._json(self.client.get(path, params=params))

    def dag_ids(self) -> set[str]:
        return {d["dag_id"] for d in self.get("/dags", limit=100)["dags"]}

    def import_errors(self) -> list[dict]:
        return self.get("/importErrors")["import_errors"]

    def unpause(self, dag_id: str) -> dict:
        return self._json(self.client.patch(f"/dags/{dag_id}", json={"is_paused": False}))

    def dag_runs(self, dag_id: str) -> list[dict]:
        return self.get(f"/dags/{dag_id}/dagRuns", order_by="run_after", limit=100)["dag_runs"]

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        return self.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", limit=100)["task_instances"]

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int, map_index: int = -1) -> str:
        """The task's log as text lines ("LEVEL event" plus any error detail)."""
        content = self.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}",
                           full_content="true", map_index=map_index)["content"]
        lines = []
        for entry in content:
            if isinstance(entry, str):
                lines.append(entry)
                continue
            lines.append(f"{entry.get('level', '')} {entry.get('event', '')}".strip())
            for error in entry.get("error_detail") or []:
                lines.extend(_format_error(error))
        return "\n".join(lines)

    def failure_report(self, dag_id: str, run: dict, tail: int = 60) -> str:
        """Every failed task of a run with the last lines of its log, for a test failure message."""
        parts = [f"{dag_id} run {run['dag_run_id']} is {run['state']}"]
        for ti in self.task_instances(dag_id, run["dag_run_id"]):
            if ti["state"] in ("failed", "upstream_failed") and ti["try_number"]:
                log = self.task_log(dag_id, run["dag_run_id"], ti["task_id"], ti["try_number"], ti["map_index"])
                parts.append(f"--- {ti['task_id']} ({ti['state']}, try {ti['try_number']}):\n"
                             + "\n".join(log.splitlines()[-tail:]))
        return "\n".join(parts)


def _format_error(error: dict) -> list[str]:
    """A structured log's exception as a short traceback: the project's frames and the error."""
    frames = [f for f in error.get("frames", []) if "site-packages" not in f.get("filename", "")]
    return ([f'  File "{f["filename"]}", line {f["lineno"]}, in {f["name"]}' for f in frames]
            + [f'{error.get("exc_type")}: ' + "\n".join(str(error.get("exc_value")).splitlines()[:12])])


def screenshot_dag_list(base_url: str, token: str, dag_ids: set[str], path: Path) -> str:
    """Open the Airflow UI's DAG list in headless Chromium as the logged-in operator (the JWT
    in the cookie the UI reads after a login), wait until every DAG id is shown, save a
    screenshot and return the page's text."""
    from support.report_form_checks import chromium

    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        context.add_cookies([{"name": "_token", "value": token, "url": base_url}])
        page = context.new_page()
        page.goto(f"{base_url}/dags", wait_until="networkidle")
        for dag_id in sorted(dag_ids):
            page.get_by_text(dag_id, exact=True).first.wait_for(timeout=30_000)
        path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(path), full_page=True)
        text = page.inner_text("body")
        context.close()
    return text
