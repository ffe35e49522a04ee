"""`xmlcurl --help` and `python -m bench --help`: this project's options only, answered without set-up."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from bench.options import build_parser
from xmlcurl.cli import COMMANDS, cli

ROOT = Path(__file__).resolve().parent.parent


def test_xmlcurl_help_lists_its_commands_and_none_of_flasks_options(tmp_path):
    # As the console script runs it; the database named is never created just to print help.
    database = tmp_path / "never.sqlite3"
    env = {**os.environ, "XMLCURL_DATABASE_URL": f"sqlite:///{database}", "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-m", "xmlcurl.cli", "--help"], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    for flask_option in ("--env-file", "--app", "--debug", "-A,", "-e,", "--version"):
        assert flask_option not in result.stdout
    listed = re.findall(r"^  (\S+)", result.stdout.split("Commands:")[1], re.MULTILINE)
    assert listed == [command.name for command in COMMANDS]
    assert listed[:2] == ["serve", "dev-server"]
    assert not database.exists()


def test_every_command_has_a_help_text_and_every_option_says_what_it_does():
    for command in COMMANDS:
        assert command.help, command.name
        for param in command.params:
            if param.param_type_name == "option" and not param.is_flag and param.name not in {
                    "tenants", "routes", "dids", "routers", "media", "gateways", "batch"}:
                assert param.help, f"{command.name} --{param.name}"


def test_a_command_builds_the_app_itself_and_reports_a_bad_setting_plainly(monkeypatch):
    from flask.cli import ScriptInfo

    from xmlcurl.cli import _create_app

    monkeypatch.setenv("XMLCURL_ENV", "staging")
    result = CliRunner().invoke(cli, ["status"], obj=ScriptInfo(create_app=_create_app, set_debug_flag=False))
    assert result.exit_code == 1
    assert "Error: XMLCURL_ENV must be production, development or testing, not 'staging'" in result.output


def test_bench_help_needs_only_the_standard_library():
    # -S: no site-packages at all, as on a machine where `make bench` has installed nothing yet.
    result = subprocess.run([sys.executable, "-S", "-m", "bench", "--help"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "--duration DURATION   seconds of load per round (default: 5)" in result.stdout
    assert "(default: 100000)" in result.stdout


def test_every_bench_option_has_a_help_text():
    parser = build_parser()
    assert parser.description
    for action in parser._actions:
        assert action.help, action.option_strings


def test_make_bench_help_installs_nothing(tmp_path):
    # The venv named does not exist: printing help must not create it or install anything into it.
    venv = tmp_path / "venv"
    result = subprocess.run(["make", "-s", "bench", "BENCH_ARGS=--help", f"VENV={venv}", f"PYTHON={sys.executable} -S"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "usage: python -m bench" in result.stdout
    assert not venv.exists()
