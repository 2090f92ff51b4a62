"""The operators' guides name only settings and commands that exist: a renamed variable or command fails here, not
on a server at night."""

from __future__ import annotations

import re
from pathlib import Path

import typer.main

from hotline.cli import app
from hotline.config import Settings

ROOT = Path(__file__).resolve().parent.parent
GUIDES = ("README.md", "docs/DEPLOY.md", "docs/OPERATIONS.md")


def _cli_tree() -> tuple[set[str], set[str]]:
    """Every `hotline` command path ("migrate", "user create") and every environment variable its options read."""
    commands: set[str] = set()
    envvars: set[str] = set()

    def walk(command: object, path: str) -> None:
        for param in getattr(command, "params", []):
            names = param.envvar or []
            envvars.update([names] if isinstance(names, str) else names)
        for name, sub in getattr(command, "commands", {}).items():
            commands.add(f"{path} {name}".strip())
            walk(sub, f"{path} {name}")

    walk(typer.main.get_command(app), "")
    return commands, envvars


def _read_by_tests() -> set[str]:
    """HOTLINE_* variables the test suite itself reads (HOTLINE_TEST_POSTGRES_URL, the fuzz scale...)."""
    found: set[str] = set()
    for path in (ROOT / "tests").rglob("*.py"):
        found.update(re.findall(r"environ(?:\.get)?\(?\[?\"(HOTLINE_[A-Z0-9_]+)\"", path.read_text()))
    return found


def test_every_hotline_variable_the_guides_name_is_read_by_the_code() -> None:
    settings = {f"HOTLINE_{name.upper()}" for name in Settings.model_fields}
    _, envvars = _cli_tree()
    known = settings | envvars | _read_by_tests()
    unknown: dict[str, list[str]] = {}
    for guide in GUIDES:
        for name in set(re.findall(r"HOTLINE_[A-Z0-9_]*[A-Z0-9](?:_\*)?", (ROOT / guide).read_text())):
            prefix = name.removesuffix("*")
            if not (name in known or (name.endswith("*") and any(real.startswith(prefix) for real in known))):
                unknown.setdefault(guide, []).append(name)
    assert unknown == {}


def test_every_hotline_command_the_guides_show_exists() -> None:
    commands, _ = _cli_tree()
    groups = {command.split()[0] for command in commands}
    shown: set[str] = set()
    for guide in GUIDES:
        text = (ROOT / guide).read_text()
        code = re.findall(r"```[a-z]*\n(.*?)```", text, flags=re.S) + re.findall(r"`([^`\n]+)`", text)
        for snippet in code:
            # `hotline` as a command: first on a line, after a path, a pipe, a semicolon or an image name.
            for first, second in re.findall(
                r"(?:^|[;|&]\s*|/bin/|\$IMG |hotline:[\w.]+ )hotline ([a-z][a-z-]*)(?: ([a-z][a-z-]*))?", snippet, re.M
            ):
                shown.add(f"{first} {second}" if f"{first} {second}" in commands else first)
    assert shown, "no command found: the pattern no longer matches the guides"
    assert {"migrate", "serve", "scheduler", "user create", "keys rotate", "voice build"} <= shown
    assert {command for command in shown if command not in commands and command not in groups} == set()
