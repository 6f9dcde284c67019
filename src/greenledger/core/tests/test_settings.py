"""Settings from the environment: deploy checks, SQLite in WAL mode, the console script."""

import os
import subprocess
import sys

import pytest
from django.db import connection


def run_console(*args, env_extra=None, tmp_path=None):
    env = {**os.environ, "GREENLEDGER_DATA_DIR": str(tmp_path), **(env_extra or {})}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set for the browser tests; a deployment never has it
    return subprocess.run([sys.executable, "-m", "greenledger", *args], env=env, capture_output=True, text=True,
                          timeout=120)


def test_check_deploy_passes_with_production_variables(tmp_path):
    result = run_console("check", "--deploy", "--fail-level", "WARNING", tmp_path=tmp_path, env_extra={
        "SECRET_KEY": "k" * 20 + "Zq9-Xw7_Lm5!Vb3#Nc1$Hd8%Jf6^Gs4&",
        "ALLOWED_HOSTS": "ledger.example.cn",
        "GREENLEDGER_HTTPS": "true",
        "DEBUG": "false",
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "smtp.example.cn",
    })
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_warns_about_the_development_secret(tmp_path):
    result = run_console("check", "--deploy", "--fail-level", "WARNING", tmp_path=tmp_path,
                         env_extra={"SECRET_KEY": ""})
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr + result.stdout


def test_console_script_accepts_hyphenated_command_names(tmp_path):
    result = run_console("verify-evidence", "--help", tmp_path=tmp_path)
    assert result.returncode == 0 and "usage" in result.stdout.lower()


@pytest.mark.django_db
def test_sqlite_runs_in_wal_mode_with_a_busy_timeout():
    if connection.vendor != "sqlite":
        pytest.skip("SQLite-only setting; this run uses " + connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
        cursor.execute("PRAGMA busy_timeout")
        assert cursor.fetchone()[0] >= 5000
