"""Request bodies over DATA_UPLOAD_MAX_MEMORY_SIZE: 413 with the limit named, JSON on the API, HTML in the
admin, under DEBUG on and off and in production (a real gunicorn), declared or chunked."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.test import Client

from identity.apikeys import api_key_hash
from payments.models import PaymentPoint, PaymentPointType

API_ROUTES = [
    "/api/payments/reconciliations",
    "/api/payments/evidence",
    "/api/payments/benefits/ANY-REF/evidence",
]
LIMIT = 1000
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def small_limit(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = LIMIT
    return settings


@pytest.fixture
def point(db) -> PaymentPoint:
    return PaymentPoint.objects.create(
        name="Provider", point_type=PaymentPointType.MOBILE_MONEY, api_key_hash=api_key_hash("good-key")
    )


def big_json() -> str:
    return json.dumps({"lines": [{"reference": "R" * 50}] * 40})  # about 2,400 bytes


def assert_json_413(response) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 413, response.content[:300]
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["limit"] == LIMIT and body["setting"] == "DATA_UPLOAD_MAX_MEMORY_SIZE"
    assert "DATA_UPLOAD_MAX_MEMORY_SIZE" in body["detail"] and "1,000 bytes" in body["detail"]


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("route", API_ROUTES)
def test_every_api_route_answers_413_in_json(
    client: Client, small_limit, point, route: str, debug: bool
) -> None:
    small_limit.DEBUG = debug
    response = client.post(route, data=big_json(), content_type="application/json", HTTP_X_API_KEY="good-key")
    assert_json_413(response)


@pytest.mark.parametrize("route", API_ROUTES)
def test_a_multipart_body_over_the_limit_is_refused_on_the_api(
    client: Client, small_limit, point, route
) -> None:
    photo = io.BytesIO(b"\xff\xd8\xff" + b"x" * 2000)
    photo.name = "photo.jpg"
    response = client.post(route, data={"agent": "A", "photo": photo}, HTTP_X_API_KEY="good-key")
    assert_json_413(response)


def test_no_key_and_a_big_body_still_get_413_not_401(client: Client, small_limit, db) -> None:
    response = client.post(API_ROUTES[0], data=big_json(), content_type="application/json")
    assert_json_413(response)


def chunked(client: Client, route: str, body: bytes, **headers: str):  # type: ignore[no-untyped-def]
    """A chunked request as gunicorn hands it over: no Content-Length, a Transfer-Encoding header."""
    return client.generic(
        "POST",
        route,
        content_type="application/json",
        CONTENT_LENGTH="",
        HTTP_TRANSFER_ENCODING="chunked",
        **{"wsgi.input": io.BytesIO(body)},
        **headers,
    )


@pytest.mark.parametrize("debug", [False, True])
def test_a_chunked_body_over_the_limit_is_refused(client: Client, small_limit, point, debug: bool) -> None:
    small_limit.DEBUG = debug
    response = chunked(client, API_ROUTES[0], big_json().encode(), HTTP_X_API_KEY="good-key")
    assert_json_413(response)


def test_a_chunked_body_within_the_limit_reaches_the_view(client: Client, small_limit, point) -> None:
    body = json.dumps({"lines": [{"reference": "R1", "status": "lost"}]}).encode()
    response = chunked(client, API_ROUTES[0], body, HTTP_X_API_KEY="good-key", HTTP_IDEMPOTENCY_KEY="k1")
    # Validated, so read: without the middleware Django reads a body of unknown length as empty.
    assert response.status_code == 422
    assert "status" in json.dumps(response.json())


def test_a_body_within_the_limit_is_untouched(client: Client, small_limit, point) -> None:
    response = client.post(
        API_ROUTES[0],
        data=json.dumps({"lines": []}),
        content_type="application/json",
        HTTP_X_API_KEY="good-key",
        HTTP_IDEMPOTENCY_KEY="k1",
    )
    assert response.status_code == 422  # min_length=1: the schema, not the size, refused it


@pytest.mark.parametrize("debug", [False, True])
def test_the_admin_answers_413_with_an_html_page(
    client: Client, small_limit, admin_user, debug: bool
) -> None:
    small_limit.DEBUG = debug
    client.force_login(admin_user)
    response = client.post("/admin/registry/individual/", data={"q": "x" * 2000})
    assert response.status_code == 413
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "Request too large" in page and "DATA_UPLOAD_MAX_MEMORY_SIZE" in page
    assert "script-src 'self'" in response["Content-Security-Policy"]  # the admin's headers as ever
    assert response["X-Content-Type-Options"] == "nosniff"


def test_admin_form_fields_over_the_limit_in_multipart_get_413(
    client: Client, small_limit, admin_user
) -> None:
    client.force_login(admin_user)
    response = client.post("/admin/registry/individual/add/", data={"given_name": "x" * 2000})  # multipart
    assert response.status_code == 413 and "DATA_UPLOAD_MAX_MEMORY_SIZE" in response.content.decode()


def test_admin_file_uploads_larger_than_the_limit_pass(client: Client, small_limit, admin_user) -> None:
    """Files are not form data: an upload bigger than the limit reaches the view (its own limits apply)."""
    client.force_login(admin_user)
    upload = io.BytesIO(b"code,name\n" + b"X,Y\n" * 1000)
    upload.name = "locations.csv"
    response = client.post("/admin/registry/location/import/", data={"file": upload})
    assert response.status_code != 413


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _raw_post(port: int, head: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head.encode() + body)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    header_block, _, content = received.partition(b"\r\n\r\n")
    lines = header_block.decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    if headers.get("transfer-encoding") == "chunked":
        decoded, rest = b"", content
        while True:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line, 16)
            if size == 0:
                break
            decoded, rest = decoded + rest[:size], rest[size + 2 :]
        content = decoded
    return int(lines[0].split()[1]), headers, content


def test_production_gunicorn_refuses_declared_and_chunked_bodies(tmp_path) -> None:
    """DJANGO_ENV=production behind a real gunicorn, which hands chunked bodies on without a length."""
    port = _free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DJANGO_ENV": "production",
        "DJANGO_SECRET_KEY": "x" * 64,
        "DJANGO_ALLOWED_HOSTS": "portal.example.org",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}",
        "DATA_UPLOAD_MAX_MEMORY_SIZE": str(LIMIT),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "1",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        body = big_json().encode()
        common = (
            "POST /api/payments/reconciliations HTTP/1.1\r\nHost: portal.example.org\r\n"
            "X-Forwarded-Proto: https\r\nContent-Type: application/json\r\nConnection: close\r\n"
        )
        status, headers, content = _raw_post(port, common + f"Content-Length: {len(body)}\r\n\r\n", body)
        assert status == 413 and headers["content-type"] == "application/json"
        assert json.loads(content)["setting"] == "DATA_UPLOAD_MAX_MEMORY_SIZE"

        chunks = b"".join(
            b"%x\r\n%s\r\n" % (len(body[i : i + 300]), body[i : i + 300]) for i in range(0, len(body), 300)
        )
        status, headers, content = _raw_post(
            port, common + "Transfer-Encoding: chunked\r\n\r\n", chunks + b"0\r\n\r\n"
        )
        assert status == 413, content
        assert json.loads(content)["limit"] == LIMIT
    finally:
        server.terminate()
        server.wait(timeout=30)
