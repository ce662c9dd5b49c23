"""Settings from the environment: production is locked down, and bad configuration says what is wrong."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def manage(*args: str, timeout: int = 120, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))}
    clean.update({"DJANGO_SETTINGS_MODULE": "portal.settings", **env})
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def production_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "DJANGO_ENV": "production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "DJANGO_ALLOWED_HOSTS": "portal.example.org",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
        **extra,
    }


def assert_one_clear_line(result: subprocess.CompletedProcess[str], *expected: str) -> None:
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    for text in expected:
        assert text in lines[0], lines[0]


def test_deploy_check_is_clean_in_production(tmp_path):
    result = manage("check", "--deploy", "--fail-level", "WARNING", **production_env(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_turns_on_every_secure_setting(tmp_path):
    secret_file = tmp_path / "secret"
    secret_file.write_text(secrets.token_urlsafe(64) + "\n")
    env = production_env(tmp_path, DJANGO_SECRET_KEY_FILE=str(secret_file))
    del env["DJANGO_SECRET_KEY"]
    code = (
        "import json; from django.conf import settings as s; print(json.dumps({"
        "'debug': s.DEBUG, 'hsts': s.SECURE_HSTS_SECONDS, 'ssl': s.SECURE_SSL_REDIRECT, "
        "'proxy': list(s.SECURE_PROXY_SSL_HEADER), 'session': s.SESSION_COOKIE_SECURE, "
        "'csrf': s.CSRF_COOKIE_SECURE, 'hosts': s.ALLOWED_HOSTS, 'secret': s.SECRET_KEY, "
        "'static': s.STORAGES['staticfiles']['BACKEND']}))"
    )
    result = manage("shell", "--no-imports", "-c", code, **env)
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values["debug"] is False
    assert values["hsts"] >= 31536000 and values["ssl"] is True
    assert values["proxy"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert values["session"] is True and values["csrf"] is True
    assert values["hosts"] == ["portal.example.org"]
    assert values["secret"] == secret_file.read_text().strip()
    assert values["static"].startswith("whitenoise.")


def test_missing_secret_in_production(tmp_path):
    env = production_env(tmp_path)
    del env["DJANGO_SECRET_KEY"]
    assert_one_clear_line(manage("check", **env), "DJANGO_SECRET_KEY", "DJANGO_ENV=production")


def test_unreadable_secret_file(tmp_path):
    env = production_env(tmp_path, DJANGO_SECRET_KEY_FILE=str(tmp_path / "missing"))
    assert_one_clear_line(manage("check", **env), "DJANGO_SECRET_KEY_FILE", "cannot be read")


def test_missing_allowed_hosts_in_production(tmp_path):
    env = production_env(tmp_path)
    del env["DJANGO_ALLOWED_HOSTS"]
    assert_one_clear_line(manage("check", **env), "DJANGO_ALLOWED_HOSTS")


def test_django_env_typo():
    assert_one_clear_line(manage("check", DJANGO_ENV="prodution"), "DJANGO_ENV='prodution' is unknown")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", "is not a valid database URL"),
        ("mysqlx://user:s3cret@db/portal", "is not a valid database URL"),
        ("mysql://user@db/portal", "does not support"),
        ("postgres://", "names no database"),
    ],
)
def test_wrong_database_url(url, message):
    result = manage("check", DATABASE_URL=url)
    assert_one_clear_line(result, "DATABASE_URL=", message)
    assert "s3cret" not in result.stderr  # passwords never end up in logs


def test_unreachable_database():
    result = manage("migrate", DATABASE_URL="postgres://postgres:s3cret@127.0.0.1:1/x")
    assert_one_clear_line(result, "Cannot use the database at 127.0.0.1:1/x", "Connection refused")
    assert "s3cret" not in result.stderr


def test_gunicorn_config_loads_the_application(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))}
    env.update(production_env(tmp_path), DJANGO_SETTINGS_MODULE="portal.settings")
    gunicorn = Path(sys.executable).with_name("gunicorn")
    result = subprocess.run(
        [str(gunicorn), "-c", "gunicorn.conf.py", "--check-config"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
