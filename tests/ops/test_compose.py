"""docker-compose.yaml, .env.example and the Dockerfile, checked without a Docker engine: the
Compose specification's schema, Airflow's own configuration and CLI parser, the repository's
folders and the project's pins."""
from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import tomllib
from functools import cache
from pathlib import Path

import jsonschema
import pytest
import yaml

PROJECT_DIR = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parents[1] / "data"
COMPOSE_FILE = PROJECT_DIR / "docker-compose.yaml"
ENV_EXAMPLE = PROJECT_DIR / ".env.example"
DOCKERFILE = PROJECT_DIR / "Dockerfile"
OPERATIONS_DOC = PROJECT_DIR / "docs" / "operations.md"

SECRETS = {
    "AIRFLOW_FERNET_KEY", "AIRFLOW_JWT_SECRET", "AIRFLOW_API_SECRET_KEY", "AIRFLOW_DB_PASSWORD",
    "WAREHOUSE_DB_PASSWORD", "AIRFLOW_CONN_SMTP_DEFAULT",
    "AIRFLOW_ADMIN_PASSWORD", "AIRFLOW_VIEWER_PASSWORD",
}
AIRFLOW_SERVICES = {"airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
                    "airflow-triggerer", "airflow-worker", "airflow-warehouse-worker"}
PROJECT_FOLDERS = ("dags", "plugins", "expectations", "sql", "report_templates", "config")

# Compose interpolation (compose-spec "Interpolation"): $$ escapes; ${VAR}, $VAR and the
# modifiers :- - :? ? :+ +.
_INTERPOLATION = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


class MissingVariable(Exception):
    pass


def interpolate(text: str, env: dict[str, str], missing: set[str] | None = None) -> str:
    """Resolve a string as `docker compose` does; a required variable that is unset (or
    empty, for ``:?``) raises, or is collected into ``missing`` when given."""

    def resolve(match: re.Match) -> str:
        if match["escaped"]:
            return "$"
        name = match["braced"] or match["bare"]
        op, arg = match["op"], match["arg"]
        value = env.get(name)
        empty = not value
        unset = name not in env
        if op in (":?", "?") and (empty if op == ":?" else unset):
            if missing is None:
                raise MissingVariable(f"{name}: {arg}")
            missing.add(name)
            return ""
        if op in (":-", "-") and (empty if op == ":-" else unset):
            return arg
        if op in (":+", "+"):
            return "" if (empty if op == ":+" else unset) else arg
        return value or ""

    return _INTERPOLATION.sub(resolve, text)


def interpolate_tree(node, env: dict[str, str], missing: set[str] | None = None):
    if isinstance(node, str):
        return interpolate(node, env, missing)
    if isinstance(node, list):
        return [interpolate_tree(item, env, missing) for item in node]
    if isinstance(node, dict):
        return {key: interpolate_tree(value, env, missing) for key, value in node.items()}
    return node


def read_env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


@cache
def raw_compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@cache
def compose() -> dict:
    """The compose file as `docker compose config` would see it with .env.example as .env."""
    return interpolate_tree(raw_compose(), read_env_file(ENV_EXAMPLE))


def airflow_services(model: dict) -> dict[str, dict]:
    """Services that run the project image (those built on the x-airflow-common anchor)."""
    image = model["x-airflow-common"]["image"]
    return {name: svc for name, svc in model["services"].items() if svc.get("image") == image}


def strings(node):
    if isinstance(node, str):
        yield node
    elif isinstance(node, list):
        for item in node:
            yield from strings(item)
    elif isinstance(node, dict):
        for value in node.values():
            yield from strings(value)


def referenced_variables() -> set[str]:
    """Variables the compose file interpolates (comments and $$-escapes excluded)."""
    return {m["braced"] or m["bare"] for text in strings(raw_compose())
            for m in _INTERPOLATION.finditer(text) if not m["escaped"]}


# --- the Compose specification ---------------------------------------------------------------

def compose_validator():
    schema = json.loads((DATA / "compose-spec.json").read_text())
    return jsonschema.validators.validator_for(schema)(schema)


def test_compose_file_follows_the_compose_specification():
    validator = compose_validator()
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(compose())]
    assert errors == []

    # The schema does catch mistakes: an unknown healthcheck key and a bad depends_on condition.
    broken = json.loads(json.dumps(compose()))
    broken["services"]["airflow-scheduler"]["healthcheck"]["intervall"] = "30s"
    broken["services"]["airflow-worker"]["depends_on"]["airflow-init"]["condition"] = "service_done"
    assert len(list(validator.iter_errors(broken))) == 2


def test_the_stack_has_every_service_with_healthchecks_and_start_order():
    services = compose()["services"]
    assert {"postgres", "warehouse", "redis", "airflow-init", *AIRFLOW_SERVICES} <= set(services)
    assert set(airflow_services(compose())) >= AIRFLOW_SERVICES
    for name in {"postgres", "warehouse", "redis", *AIRFLOW_SERVICES}:
        assert services[name]["healthcheck"]["test"], name
    for name in AIRFLOW_SERVICES:
        depends = services[name]["depends_on"]
        assert depends["airflow-init"] == {"condition": "service_completed_successfully"}, name
        assert {"postgres", "redis", "warehouse"} <= set(depends), name
    env = services["airflow-scheduler"]["environment"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    broker = env["AIRFLOW__CELERY__BROKER_URL"]
    assert broker.startswith("redis://redis:") or "@redis:" in broker
    assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "false"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].endswith("@postgres/airflow")
    # The warehouse's URL only where it is used (tests/ops/test_compose_least_privilege.py).
    assert services["airflow-warehouse-worker"]["environment"]["CSP_WAREHOUSE_URL"].endswith("@warehouse:5432/csp")
    # The metadata database and the warehouse are separate servers.
    assert services["postgres"]["volumes"] != services["warehouse"]["volumes"]


# --- secrets ---------------------------------------------------------------------------------

def test_every_secret_comes_from_env_and_is_required():
    missing: set[str] = set()
    interpolate_tree(raw_compose(), {}, missing)
    assert missing >= SECRETS  # `docker compose` refuses to start without each of them
    with pytest.raises(MissingVariable, match="AIRFLOW_FERNET_KEY"):
        interpolate(raw_compose()["x-airflow-common"]["environment"]["AIRFLOW__CORE__FERNET_KEY"], {})


SECRET_NAME = re.compile(r"PASSWORD|SECRET|FERNET|_KEY$|TOKEN|^AIRFLOW_CONN_")
ONLY_INTERPOLATION = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*:\?[^}]*\}$")
URL_CREDENTIAL = re.compile(r"://[^:/@\s\"']*:([^@\s\"']*)@")


def test_no_secret_is_written_in_the_compose_file():
    def environments(node):
        if isinstance(node, dict):
            if isinstance(node.get("environment"), dict):
                yield node["environment"]
            for value in node.values():
                yield from environments(value)

    for environment in environments(raw_compose()):
        for name, value in environment.items():
            if SECRET_NAME.search(name) and name != "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE":
                assert ONLY_INTERPOLATION.match(str(value)), f"{name} must be ${{VAR:?...}} from .env"
    for password in URL_CREDENTIAL.findall(COMPOSE_FILE.read_text()):
        assert password == "" or ONLY_INTERPOLATION.match(password), f"literal credential {password!r}"
    # and the check finds one when there is one
    assert URL_CREDENTIAL.findall("postgresql://airflow:airflow@postgres/airflow") == ["airflow"]


def test_env_example_documents_every_variable_with_fake_values():
    example = read_env_file(ENV_EXAMPLE)
    assert set(example) == referenced_variables()
    for name in SECRETS:
        assert "fake" in example[name].lower(), f"{name} in .env.example must be obviously fake"
    lines = ENV_EXAMPLE.read_text().splitlines()
    for index, line in enumerate(lines):
        if "=" in line and not line.startswith("#"):
            block = []  # the contiguous lines above it, up to a blank line
            for above in reversed(lines[:index]):
                if not above.strip():
                    break
                block.append(above)
            assert any(a.startswith("#") for a in block), f"undocumented: {line.split('=')[0]}"
    assert ".env" in (PROJECT_DIR / ".dockerignore").read_text().split()


def test_env_and_the_stacks_folders_are_never_committed():
    """.env holds the deployment's secrets; logs/, data/ and out/ are what the stack writes."""
    for path in (".env", "logs/scheduler/latest", "data/landing/police/2024Q1/x.csv", "out/index.html"):
        ignored = subprocess.run(["git", "check-ignore", "-q", path], cwd=PROJECT_DIR)
        assert ignored.returncode == 0, f"{path} is not ignored by .gitignore"
    assert subprocess.run(["git", "check-ignore", "-q", ".env.example"], cwd=PROJECT_DIR).returncode != 0


# --- Airflow configuration -------------------------------------------------------------------

def known_airflow_options() -> dict[str, set[str]]:
    """Section -> option names: Airflow's configuration description, which includes the
    installed providers' options (the Celery provider's [celery] and
    [celery_broker_transport_options])."""
    from airflow.configuration import conf

    return {section: set(spec["options"]) for section, spec in conf.configuration_description.items()}


def unknown_airflow_settings(environment_names: set[str]) -> set[str]:
    known = known_airflow_options()
    unknown = set()
    for name in environment_names:
        if match := re.fullmatch(r"AIRFLOW__([A-Z0-9_]+?)__([A-Z0-9_]+)", name):
            section, option = match[1].lower(), match[2].lower()
            if option not in known.get(section, set()):
                unknown.add(name)
    return unknown


def test_every_airflow_setting_exists_in_airflow_config():
    names = {name for svc in compose()["services"].values() for name in svc.get("environment", {})}
    names |= set(compose()["x-airflow-common"]["environment"])
    settings = {n for n in names if n.startswith("AIRFLOW__")}
    assert len(settings) >= 15
    assert unknown_airflow_settings(settings) == set()
    assert unknown_airflow_settings({"AIRFLOW__CORE__LOAD_EXAMPLE", "AIRFLOW__WEBSERVER__SECRET_KEY"}) == {
        "AIRFLOW__CORE__LOAD_EXAMPLE", "AIRFLOW__WEBSERVER__SECRET_KEY"}


def test_simple_auth_manager_users_and_the_init_passwords_file(tmp_path, monkeypatch):
    """The users string reaches SimpleAuthManager as admin + viewer, and the passwords file
    airflow-init writes (its own python line, run here) holds exactly those users."""
    from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager

    services = compose()["services"]
    env = services["airflow-init"]["environment"]
    script = services["airflow-init"]["command"][1]
    (writer,) = [line.strip() for line in script.splitlines() if "json.dump" in line]
    passwords = tmp_path / "passwords.json"
    run_env = {**{k: v for k, v in env.items() if k.startswith("AIRFLOW_")},
               "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords)}
    argv = shlex.split(writer)
    assert argv[:2] == ["python", "-c"]
    subprocess.run([sys.executable, "-c", argv[2]], env=run_env, check=True)

    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"])
    users = {user.username: user.role for user in SimpleAuthManager.get_users()}
    assert users == {env["AIRFLOW_ADMIN_USERNAME"]: "admin", env["AIRFLOW_VIEWER_USERNAME"]: "viewer"}
    with passwords.open() as stream:
        stored = SimpleAuthManager._get_passwords(stream)
    assert stored == {env["AIRFLOW_ADMIN_USERNAME"]: env["AIRFLOW_ADMIN_PASSWORD"],
                      env["AIRFLOW_VIEWER_USERNAME"]: env["AIRFLOW_VIEWER_PASSWORD"]}
    # The other services get the users but never the passwords.
    assert not any("AIRFLOW_ADMIN_PASSWORD" in services[name]["environment"] for name in AIRFLOW_SERVICES)


# --- Airflow CLI -----------------------------------------------------------------------------

@cache
def airflow_parser():
    """Airflow's own CLI parser, with the installed Celery provider's `celery` commands."""
    from airflow.cli.cli_parser import get_parser

    return get_parser()


def is_airflow_command(argv: list[str]) -> bool:
    try:
        airflow_parser().parse_args(argv)
    except SystemExit as exit_:
        return exit_.code == 0  # --help
    return True


def airflow_invocations(script: str) -> list[list[str]]:
    """`airflow ...` (or `/entrypoint airflow ...`) lines of a shell script, as argv."""
    found = []
    for line in script.splitlines():
        words = shlex.split(line, comments=True) if line.strip() else []
        if words[:1] == ["/entrypoint"]:
            words = words[1:]
        if words[:1] == ["airflow"]:
            found.append(words[1:])
    return found


def compose_airflow_commands() -> dict[str, list[str]]:
    """Every Airflow command the stack runs: service commands (the image's entrypoint runs
    `airflow <command>`), shell scripts and healthchecks."""
    commands = {}
    for name, svc in airflow_services(compose()).items():
        command = svc.get("command")
        if svc.get("entrypoint") == "/bin/bash":
            for i, argv in enumerate(airflow_invocations(command[-1])):
                commands[f"{name} script #{i + 1}"] = argv
        elif command is not None:
            commands[name] = shlex.split(command) if isinstance(command, str) else command
        test = svc.get("healthcheck", {}).get("test", [])
        if test[:1] == ["CMD-SHELL"]:
            for argv in airflow_invocations(test[1]):
                commands[f"{name} healthcheck"] = argv
    return commands


def test_every_command_is_a_real_airflow_command():
    commands = compose_airflow_commands()
    assert {" ".join(commands[name]) for name in AIRFLOW_SERVICES} == {
        "api-server", "scheduler", "dag-processor", "triggerer", "celery worker --queues default",
        "celery worker --queues warehouse --concurrency 1"}
    assert ["db", "migrate"] in commands.values()  # the init service migrates the metadata DB
    assert "airflow-dag-processor healthcheck" in commands
    for where, argv in commands.items():
        assert is_airflow_command(argv), f"{where}: `airflow {' '.join(argv)}` is not an Airflow command"
    assert not is_airflow_command(["dag-processer"])
    assert not is_airflow_command(["jobs", "check", "--job-type", "DagProcessor"])


def test_the_operations_guide_uses_real_airflow_commands():
    blocks = re.findall(r"```(?:bash|sh|console)?\n(.*?)```", OPERATIONS_DOC.read_text(), flags=re.S)
    invocations = []
    for block in blocks:
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True) if line.strip() else []
            if "airflow" in words:
                # docker compose run --rm airflow-cli airflow ... / airflow ... directly
                invocations.append(words[words.index("airflow") + 1:])
    assert any(argv[:2] == ["backfill", "create"] for argv in invocations)
    for argv in invocations:
        assert is_airflow_command(argv), f"docs/operations.md: `airflow {' '.join(argv)}`"


# --- mounts ----------------------------------------------------------------------------------

def bind_mounts(svc: dict) -> dict[str, str]:
    """Container target -> host source of a service's bind mounts (short syntax)."""
    mounts = {}
    for volume in svc.get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith((".", "/")):
            mounts[target] = source
    return mounts


def test_mounted_host_paths_exist_or_are_created_by_init():
    model = compose()
    init_script = model["services"]["airflow-init"]["command"][-1]
    created = set(re.findall(r"(/opt/airflow/[\w/]+)", "\n".join(
        line for line in init_script.splitlines() if line.strip().startswith("mkdir"))))
    for name, svc in model["services"].items():
        for target, source in bind_mounts(svc).items():
            host = (PROJECT_DIR / source).resolve()
            made = any(path == target or path.startswith(target + "/") for path in created)
            assert host.exists() or made, (
                f"{name}: {source} -> {target} is neither in the repo nor made by airflow-init")
        for volume in svc.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith((".", "/")):
                assert source in model["volumes"], f"{name}: undeclared volume {source}"


def test_every_airflow_service_sees_the_project_and_the_data_folders():
    env = compose()["x-airflow-common"]["environment"]
    project = install_dir_of_dockerfile()
    for name, svc in airflow_services(compose()).items():
        mounts = bind_mounts(svc)
        for folder in PROJECT_FOLDERS:
            assert mounts.get(f"{project}/{folder}") == f"./{folder}", f"{name}: {folder}/ not at {project}/{folder}"
        for variable in ("CSP_DATA_DIR", "CSP_OUT_DIR", "CSP_REFERENCE_DIR"):
            assert env[variable] in mounts, f"{name}: {variable}={env[variable]} is not mounted"
    area_file = Path(env["CSP_AREA_FILE"])
    assert area_file.parent.as_posix() == f"{project}/config"
    assert (PROJECT_DIR / "config" / area_file.name).is_file()


# --- Dockerfile ------------------------------------------------------------------------------

def dockerfile_instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    return [tuple(line.strip().split(None, 1)) for line in text.splitlines()
            if line.strip() and not line.strip().startswith("#")]


def editable_install_of_dockerfile() -> tuple[str, set[str]]:
    """The project's editable install: its directory and the extras it installs."""
    (install,) = [arg for op, arg in dockerfile_instructions() if op == "RUN" and "pip install" in arg]
    target = shlex.split(re.search(r"-e\s+(\"[^\"]+\"|\S+)", install)[1])[0]
    path, _, extras = target.partition("[")
    return path, set(filter(None, extras.rstrip("]").split(",")))


def install_dir_of_dockerfile() -> str:
    return editable_install_of_dockerfile()[0]


def test_dockerfile_builds_on_the_pinned_airflow_with_the_constraints():
    project = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text())["project"]
    airflow_pin = next(d.split("==")[1] for d in project["dependencies"] if d.startswith("apache-airflow=="))
    python = re.fullmatch(r"==(\d+\.\d+)\.\*", project["requires-python"])[1]
    instructions = dockerfile_instructions()
    assert instructions[0] == ("FROM", f"apache/airflow:{airflow_pin}-python{python}")

    (install,) = [(i, arg) for i, (op, arg) in enumerate(instructions) if op == "RUN" and "pip install" in arg]
    index, command = install
    assert re.search(r"-c\s+\S*constraints\.txt", command)
    users = [arg for op, arg in instructions[:index] if op == "USER"]
    assert users[-1] == "airflow"  # never pip install as root in the Airflow image
    copied = " ".join(arg for op, arg in instructions[:index] if op == "COPY")
    assert "constraints.txt" in copied and "pyproject.toml" in copied
    assert install_dir_of_dockerfile() == "/opt/airflow"


# --- Celery: the executor the stack runs -----------------------------------------------------

def test_the_deployment_extra_is_pinned_and_installed_in_the_image():
    """The `deployment` extra pins the Celery provider, Celery and the metadata database's
    drivers; constraints.txt holds the whole resolution (the versions the tests' workers ran);
    the image installs the extra."""
    import importlib.metadata

    project = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text())["project"]
    pins = dict(re.sub(r"\[.*\]", "", d).split("==") for d in project["optional-dependencies"]["deployment"])
    assert set(pins) == {"apache-airflow-providers-celery", "celery", "psycopg2-binary", "asyncpg"}
    constraints = dict(line.split("==") for line in (PROJECT_DIR / "constraints.txt").read_text().splitlines()
                       if "==" in line and not line.startswith("#"))
    for package in (*pins, "kombu", "redis"):
        assert constraints[package] == importlib.metadata.version(package), package
    for package, version in pins.items():
        assert constraints[package] == version
    assert "deployment" in editable_install_of_dockerfile()[1]


def metadata_database_urls() -> dict[str, str]:
    env = compose()["x-airflow-common"]["environment"]
    return {name: env[name] for name in ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
                                         "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC",
                                         "AIRFLOW__CELERY__RESULT_BACKEND")}


def test_every_database_url_names_an_installed_driver():
    """Each metadata-database URL names its driver, and each driver is installed: an engine is
    built for each (the driver is imported) without connecting. Nothing relies on what the
    base image happens to ship."""
    import sqlalchemy as sa
    from sqlalchemy.ext.asyncio import create_async_engine

    urls = metadata_database_urls()
    drivers = {name: sa.engine.make_url(url.removeprefix("db+")).drivername for name, url in urls.items()}
    assert drivers == {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "postgresql+psycopg2",
                       "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": "postgresql+asyncpg",
                       "AIRFLOW__CELERY__RESULT_BACKEND": "postgresql+psycopg2"}  # db+<SQLAlchemy URL>
    sa.create_engine(urls["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]).dispose()
    sa.create_engine(urls["AIRFLOW__CELERY__RESULT_BACKEND"].removeprefix("db+")).dispose()
    create_async_engine(urls["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"]).sync_engine.dispose()
    # The warehouse stays on psycopg 3, the project's own driver (csp.warehouse.engine).
    assert compose()["x-warehouse-env"]["CSP_WAREHOUSE_URL"].startswith("postgresql://")


def worker_queues() -> dict[str, tuple[set[str], str | None]]:
    """Celery worker service -> (queues it serves, --concurrency), from its command."""
    parser = airflow_parser()
    workers = {}
    for name, argv in compose_airflow_commands().items():
        if argv[:2] == ["celery", "worker"]:
            args = parser.parse_args(argv)
            workers[name] = (set(args.queues.split(",")), args.concurrency)
    return workers


def test_only_the_warehouse_worker_serves_the_warehouse_queue():
    """The single-writer rule by configuration: one worker service serves the warehouse DAG's
    queue, one task at a time, and the scalable workers serve every other task's queue."""
    from airflow.configuration import conf

    from csp.dag_factory import WAREHOUSE_QUEUE

    workers = worker_queues()
    serving = {name for name, (queues, _) in workers.items() if WAREHOUSE_QUEUE in queues}
    assert serving == {"airflow-warehouse-worker"}
    assert workers["airflow-warehouse-worker"] == ({WAREHOUSE_QUEUE}, 1)
    assert workers["airflow-worker"][0] == {conf.get("operators", "default_queue")}
    assert "--scale airflow-worker" in COMPOSE_FILE.read_text()


def test_the_brokers_visibility_timeout_outlasts_the_longest_task():
    """Redis redelivers an unacknowledged task after visibility_timeout: it must be longer than
    any task may run (csp.timeouts), or a slow task would be started a second time."""
    from csp.timeouts import LONGEST

    env = compose()["x-airflow-common"]["environment"]
    visibility = int(env["AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT"])
    assert visibility >= 2 * LONGEST.total_seconds()


def test_airflow_imports_no_platform_module_as_a_plugin_file():
    """Airflow imports every .py file of the plugins folder (mounted at the image's plugins
    folder) as a top-level module; plugins/.airflowignore keeps the csp package out of that."""
    from airflow._shared.module_loading.file_discovery import find_path_from_directory

    seen = [Path(p).relative_to(PROJECT_DIR / "plugins").as_posix()
            for p in find_path_from_directory(PROJECT_DIR / "plugins", ".airflowignore")]
    assert not [p for p in seen if p.startswith("csp/") or ".egg-info/" in p], seen
    assert (PROJECT_DIR / "plugins" / "csp" / "__init__.py").is_file()
