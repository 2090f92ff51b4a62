"""The recipes of docs/DEPLOY.md (systemd units, settings file, nginx, certbot, firewall, journald) are read out of
the guide and checked with the real tools where this machine has them, and against the code and each other where it
does not: a broken snippet fails here, not on a server."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import pytest
import typer.main
import uvicorn

from hotline import config
from hotline.cli import app
from hotline.config import Settings
from tests.test_docs import _cli_tree

DEPLOY = config.ROOT / "docs" / "DEPLOY.md"
OPERATIONS = config.ROOT / "docs" / "OPERATIONS.md"
# Where the recipe's virtualenv puts the command; the units are verified with the one running these tests.
SERVER_HOTLINE = "/opt/hotline/venv/bin/hotline"


@dataclass(frozen=True)
class Block:
    """A fenced code block, the prose before it (where the guide names its file) and its `## ` section."""

    lang: str
    body: str
    before: str
    section: str


def _blocks(path: Path) -> list[Block]:
    """Every fenced code block of a guide, in order."""
    text = path.read_text()
    blocks: list[Block] = []
    end = 0
    for match in re.finditer(r"^```(\w*)\n(.*?)^```", text, flags=re.M | re.S):
        headings = re.findall(r"^## (.+)$", text[: match.start()], flags=re.M)
        blocks.append(Block(match[1], match[2], text[end : match.start()], headings[-1] if headings else ""))
        end = match.end()
    return blocks


def _named(block: Block, suffix: str) -> str:
    """The file the guide names for a block: the last `/path` ending in suffix in the prose before it."""
    names: list[str] = [name for name in re.findall(r"`(/[^`\s]+)`", block.before) if name.endswith(suffix)]
    assert names, f"no file named before the block {block.body[:60]!r}"
    return names[-1]


def _the_block(blocks: list[Block], needle: str) -> Block:
    """The one block that contains needle."""
    (found,) = [block for block in blocks if needle in block.body]
    return found


def _directives(unit: str, key: str) -> list[str]:
    """The values of a unit's `key=` lines, in order."""
    return [line.split("=", 1)[1] for line in unit.splitlines() if line.startswith(f"{key}=")]


def _environment(unit: str, instance: str = "") -> dict[str, str]:
    """A unit's `Environment=` variables, with `%i` as systemd expands it for instance."""
    pairs = (value.replace("%i", instance).split("=", 1) for value in _directives(unit, "Environment"))
    return dict(pairs)


def _settings_file(block: Block) -> dict[str, str]:
    """A block of `/etc/hotline/hotline.env` lines as name → value."""
    lines = [line for line in block.body.splitlines() if line and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)


DEPLOY_BLOCKS = _blocks(DEPLOY)
OPERATIONS_BLOCKS = _blocks(OPERATIONS)
UNITS = {Path(_named(block, ".service")).name: block.body for block in DEPLOY_BLOCKS if "[Service]" in block.body}
WEB = UNITS["hotline-web.service"]
SCHEDULER = UNITS["hotline-scheduler@.service"]
# Blocks in which every line is NAME=value or a comment: the settings file of section 2 and its section 12 form.
SETTINGS_FILES = [
    block
    for block in DEPLOY_BLOCKS
    if all(re.fullmatch(r"#.*|[A-Z][A-Z0-9_]*=\S*", line) for line in block.body.splitlines() if line)
]
SYSTEMD_SETTINGS = next(block for block in SETTINGS_FILES if block.section.startswith("12."))
INSTALL = _the_block(DEPLOY_BLOCKS, "python3 -m venv")
NGINX = _the_block(DEPLOY_BLOCKS, "upstream hotline")
ENABLED_SCHEDULERS = re.findall(r"hotline-scheduler@(\w+)", _the_block(DEPLOY_BLOCKS, "systemctl enable").body)


def _missing(what: str, package: str) -> NoReturn:
    """Skip without a tool on a developer's machine; fail where HOTLINE_REQUIRE_SYSTEMD says it must be there."""
    if os.environ.get("HOTLINE_REQUIRE_SYSTEMD"):
        pytest.fail(f"{what} missing: apt-get install {package}")
    pytest.skip(f"{what} not installed (apt-get install {package})")


def _tool(name: str, package: str) -> str:
    """The tool's path, or a skip naming its Debian package."""
    path = shutil.which(name, path=f"{os.environ.get('PATH', '')}:/usr/sbin:/usr/bin")
    if path is None:
        _missing(name, package)
    return path


def _run_args(unit: str) -> list[str]:
    """The arguments a unit gives the hotline command."""
    (exec_start,) = _directives(unit, "ExecStart")
    program, *args = shlex.split(exec_start)
    assert program == SERVER_HOTLINE
    return args


def _parsed(args: list[str]) -> dict[str, Any]:
    """The options `hotline ARGS` runs with in this environment, as the CLI parses them (it raises UsageError on an
    unknown command or option and on a bad value)."""
    # typer carries its own copy of click, so the tree is walked by its methods, as _cli_tree() does.
    command: Any = typer.main.get_command(app)
    ctx = command.make_context("hotline", list(args))
    rest = list(args)
    while hasattr(command, "commands"):
        found = command.get_command(ctx, rest[0])
        assert found is not None, f"no command {rest[0]!r}"
        command, rest = found, rest[1:]
    return dict(command.make_context(" ".join(args[: len(args) - len(rest)]), rest, parent=ctx).params)


def _given_only(monkeypatch: pytest.MonkeyPatch, environ: dict[str, str]) -> None:
    """Of the variables the CLI's options read, set those given and unset the others."""
    _, envvars = _cli_tree()
    for name in envvars:
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)


def _served(monkeypatch: pytest.MonkeyPatch, unit: str, instance: str = "") -> dict[str, Any]:
    """The options a unit's command runs with, given the unit's Environment= lines."""
    _given_only(monkeypatch, _environment(unit, instance))
    return _parsed(_run_args(unit))


def test_the_guide_has_the_two_units_the_text_names() -> None:
    assert set(UNITS) == {"hotline-web.service", "hotline-scheduler@.service"}
    assert ENABLED_SCHEDULERS == ["1", "2"]
    assert [block.section[:3] for block in SETTINGS_FILES] == ["2. ", "12."]


@pytest.mark.parametrize("name", sorted(UNITS))
def test_systemd_accepts_each_unit(name: str, tmp_path: Path) -> None:
    analyze = _tool("systemd-analyze", "systemd")
    # The one substitution: verify checks that ExecStart's program is executable, and this machine has the virtualenv
    # running these tests, not /opt/hotline/venv. User=hotline, EnvironmentFile= and WorkingDirectory= stay as
    # written: verify does not look them up.
    unit = tmp_path / name
    unit.write_text(UNITS[name].replace(SERVER_HOTLINE, str(Path(sys.prefix) / "bin" / "hotline")))
    result = subprocess.run(
        # --recursive-errors=no: the exit status speaks of this unit only, not of the host's own units.
        [analyze, "verify", "--man=no", "--recursive-errors=no", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    # An unknown key or a bad value is only a logged warning ("...: Unknown key 'X' in section [Service], ignoring"),
    # naming the file or the unit; lines about other units of the host are not the guide's business.
    about_unit = [line for line in (result.stdout + result.stderr).splitlines() if name.split("@")[0] in line]
    assert (result.returncode, about_unit) == (0, [])


@pytest.mark.parametrize("name", sorted(UNITS))
def test_each_unit_runs_a_command_and_options_the_cli_has(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    commands, _ = _cli_tree()
    assert _run_args(UNITS[name])[0] in commands
    _served(monkeypatch, UNITS[name], "1")  # raises UsageError on an unknown option or a bad value


def test_every_variable_the_units_are_given_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    _, envvars = _cli_tree()
    known = {f"HOTLINE_{name.upper()}" for name in Settings.model_fields} | envvars
    given = {name for unit in UNITS.values() for name in _environment(unit)}
    given |= {name for block in SETTINGS_FILES for name in _settings_file(block)}
    # The one variable not the hotline's: uvicorn reads it from the environment (`hotline serve` does not pass it).
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "*")
    assert uvicorn.Config("hotline.main:create_app", factory=True).forwarded_allow_ips == "*"
    assert given - known == {"FORWARDED_ALLOW_IPS"}


def test_the_settings_file_means_the_same_to_docker_and_systemd() -> None:
    # Docker's --env-file keeps quotes and backslashes that systemd's EnvironmentFile= removes; both keep a comment
    # after a value as part of it.
    for block in SETTINGS_FILES:
        for name, value in _settings_file(block).items():
            assert not re.search(r"[\"'\\]|\s#", value), f"{name}={value}"
    # EnvironmentFile= overrides Environment=: set in the file, the port would be the same for both schedulers.
    for block in SETTINGS_FILES:
        assert set(_settings_file(block)).isdisjoint(_environment(SCHEDULER))


def test_the_units_use_the_user_and_paths_the_install_recipe_makes() -> None:
    adduser = re.search(r"adduser --system --group --home (\S+) (\S+)", INSTALL.body)
    clone = re.search(r"git clone \S+ (\S+)", INSTALL.body)
    venv = re.search(r"python3 -m venv (\S+)", INSTALL.body)
    assert adduser and clone and venv
    home, user = adduser.groups()
    assert SERVER_HOTLINE == f"{venv[1]}/bin/hotline"
    for unit in UNITS.values():
        assert _directives(unit, "User") == _directives(unit, "Group") == [user]
        assert _directives(unit, "WorkingDirectory") == [clone[1]]
        assert _directives(unit, "EnvironmentFile") == ["/etc/hotline/hotline.env"]
        assert [f"/var/lib/{state}" for state in _directives(unit, "StateDirectory")] == [home]
    # The by-hand wrapper runs the command as the units do.
    wrapper = _the_block(DEPLOY_BLOCKS, "exec systemd-run")
    properties = dict(prop.split("=", 1) for prop in re.findall(r"-p (\S+)", wrapper.body))
    assert properties == {key: _directives(WEB, key)[0] for key in properties}
    assert set(properties) == {"User", "Group", "StateDirectory", "EnvironmentFile", "WorkingDirectory"}
    assert f"{SERVER_HOTLINE} " in wrapper.body


def test_the_systemd_settings_put_written_files_in_the_state_directory() -> None:
    # ProtectSystem=strict makes the checkout read-only: what the app writes and by default keeps in the checkout's
    # var/ must be set elsewhere (the development secrets are never read on a server).
    var = str(config.ROOT / "var")
    written = {
        f"HOTLINE_{name.upper()}"
        for name, field in Settings.model_fields.items()
        if var in str(field.default) and name != "dev_secrets_file"
    }
    assert written
    settings = _settings_file(SYSTEMD_SETTINGS)
    (state,) = {state for unit in UNITS.values() for state in _directives(unit, "StateDirectory")}
    for name in written:
        assert name in settings
        assert not settings[name].startswith("/") or settings[name].startswith(f"/var/lib/{state}/")


def _scrape_targets() -> dict[str, set[str]]:
    """OPERATIONS.md's Prometheus jobs and their targets."""
    scrape = _the_block(OPERATIONS_BLOCKS, "scrape_configs").body
    jobs = re.findall(r"job_name: (\S+)\n\s+static_configs: \[\{targets: (\[.*?\])\}\]", scrape)
    return {job: set(json.loads(targets)) for job, targets in jobs}


def _docker_schedulers(blocks: list[Block]) -> list[str]:
    """The `docker run ... hotline scheduler` commands of a guide, continuation lines joined."""
    lines = "\n".join(block.body for block in blocks).replace("\\\n", " ").splitlines()
    return [line for line in lines if line.endswith("hotline scheduler") and " -p " in line]


def test_the_schedulers_listen_where_prometheus_scrapes(monkeypatch: pytest.MonkeyPatch) -> None:
    targets = _scrape_targets()
    under_systemd = set()
    for instance in ENABLED_SCHEDULERS:
        options = _served(monkeypatch, SCHEDULER, instance)
        under_systemd.add(f"{options['metrics_host']}:{options['metrics_port']}")
    # Both guides' prose names these two.
    assert under_systemd == targets["hotline-scheduler"] == {"127.0.0.1:9101", "127.0.0.1:9102"}
    for blocks in (DEPLOY_BLOCKS, OPERATIONS_BLOCKS):
        published = set()
        for command in _docker_schedulers(blocks):
            _given_only(monkeypatch, dict(re.findall(r"-e (\w+)=(\S+)", command)))
            options = _parsed(command.split("$IMG hotline ")[1].split())
            (host, port, inside) = re.findall(r"-p ([\d.]+):(\d+):(\d+)", command)[0]
            # Inside the container it listens on every address, on the port Docker publishes.
            assert (options["metrics_host"], options["metrics_port"]) == ("0.0.0.0", int(inside))
            published.add(f"{host}:{port}")
        assert published == targets["hotline-scheduler"]


def test_the_web_unit_serves_where_nginx_caddy_and_prometheus_connect(monkeypatch: pytest.MonkeyPatch) -> None:
    options = _served(monkeypatch, WEB)
    address = f"{options['host']}:{options['port']}"
    assert re.findall(r"^\s*server (\S+);", NGINX.body, flags=re.M) == [address]
    assert set(re.findall(r"proxy_pass (\S+);", NGINX.body)) == {"http://hotline"}
    assert re.findall(r"reverse_proxy (\S+)", _the_block(DEPLOY_BLOCKS, "reverse_proxy").body) == [address]
    assert _scrape_targets()["hotline-web"] == {address}


def test_the_certificate_nginx_reads_is_the_one_certbot_makes_for_the_public_url() -> None:
    (domain,) = re.findall(r"certbot certonly --nginx -d (\S+)", _the_block(DEPLOY_BLOCKS, "certbot certonly").body)
    # certbot keeps the certificate under its first -d name.
    assert re.findall(r"ssl_certificate(?:_key)?\s+(\S+);", NGINX.body) == [
        f"/etc/letsencrypt/live/{domain}/fullchain.pem",
        f"/etc/letsencrypt/live/{domain}/privkey.pem",
    ]
    assert set(re.findall(r"server_name (\S+);", NGINX.body)) == {domain}
    assert _settings_file(SETTINGS_FILES[0])["HOTLINE_PUBLIC_URL"] == f"https://{domain}"


def test_the_firewall_opens_ssh_and_what_nginx_listens_on_only(monkeypatch: pytest.MonkeyPatch) -> None:
    firewall = _the_block(DEPLOY_BLOCKS, "ufw enable").body
    opened = {int(port) for port in re.findall(r"^ufw (?:allow|limit) (\d+)/tcp", firewall, flags=re.M)}
    listened = {int(port) for port in re.findall(r"listen (\d+)", NGINX.body)}
    assert opened == listened | {22}
    # The check of what listens on 127.0.0.1 only names the units' ports, and they do listen there.
    (checked,) = re.findall(r"grep -E ':\(([\d|]+)\) '", firewall)
    web = _served(monkeypatch, WEB)
    local = {(web["host"], web["port"])}
    for instance in ENABLED_SCHEDULERS:
        scheduler = _served(monkeypatch, SCHEDULER, instance)
        local.add((scheduler["metrics_host"], scheduler["metrics_port"]))
    assert {host for host, _ in local} == {"127.0.0.1"}
    assert {port for _, port in local} | {5432} == {int(port) for port in checked.split("|")}
    assert not opened & {port for _, port in local}


def test_journald_knows_the_drop_in_keys() -> None:
    block = _the_block(DEPLOY_BLOCKS, "[Journal]")
    assert _named(block, ".conf").startswith("/etc/systemd/journald.conf.d/")
    shipped = Path("/etc/systemd/journald.conf")
    if not shipped.is_file():
        _missing(str(shipped), "systemd")
    # Debian's journald.conf lists every option this systemd reads, commented out.
    options = set(re.findall(r"^#(\w+)=", shipped.read_text(), flags=re.M))
    settings = dict(line.split("=", 1) for line in block.body.splitlines() if "=" in line)
    assert set(settings) <= options
    analyze = _tool("systemd-analyze", "systemd")
    for name, value in settings.items():
        if name.endswith("Sec"):
            subprocess.run([analyze, "timespan", value], check=True, capture_output=True, timeout=30)


def test_nginx_logs_paths_without_query_strings_where_logrotate_rotates_them() -> None:
    log_format = _the_block(DEPLOY_BLOCKS, "log_format").body
    (name,) = re.findall(r"log_format (\w+) ", log_format)
    # $request and $request_uri carry the query string (Kannel's get-url: number and text); $uri does not.
    used = set(re.findall(r"\$(\w+)", log_format))
    assert "uri" in used
    assert not used & {"request", "request_uri", "args", "query_string"}
    assert not [variable for variable in used if variable.startswith("arg_")]
    # Debian's /etc/logrotate.d/nginx rotates /var/log/nginx/*.log.
    assert re.search(rf"`access_log /var/log/nginx/[\w.-]+\.log {name};`", DEPLOY.read_text())


def test_the_guide_shell_scripts_parse() -> None:
    scripts = [block.body for block in DEPLOY_BLOCKS if block.body.startswith("#!/bin/sh\n")]
    assert len(scripts) == 2  # the backup and the by-hand wrapper
    for script in scripts:
        result = subprocess.run(["sh", "-n"], input=script, capture_output=True, text=True, timeout=30)
        assert (result.returncode, result.stderr) == (0, "")
