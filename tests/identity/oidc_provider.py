"""A small OpenID Connect provider for the tests, on this machine: discovery, authorize (auto-approves the
account the test chose, or shows a tiny form with ?form), token (an RS256 ID token signed with a key made
here), JWKS and user information. Knobs let a test make it misbehave (another issuer, audience, an expired
token, a bad signature, another nonce).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

CLIENT_ID = "portal"
CLIENT_SECRET = "portal-secret"  # noqa: S105 (a test provider's)
KEY_ID = "test-key-1"


def _rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class Provider:
    """The provider's state: who signs in next, which codes are outstanding, and the test's knobs."""

    url: str = ""
    key: rsa.RSAPrivateKey = field(default_factory=_rsa_key)
    claims: dict[str, Any] = field(default_factory=dict)  # the account that signs in, and its claims
    id_token_overrides: dict[str, Any] = field(default_factory=dict)  # e.g. {"iss": ...}, {"exp": ...}
    sign_with_other_key: bool = False
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    access_tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    token_requests: int = 0

    def sign_in_as(self, sub: str, **claims: Any) -> None:
        self.claims = {"sub": sub, **claims}

    @property
    def issuer(self) -> str:
        return self.url

    def jwks(self) -> dict[str, Any]:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**public, "kid": KEY_ID, "alg": "RS256", "use": "sig"}]}

    def id_token(self, grant: dict[str, Any]) -> str:
        now = int(time.time())
        payload = {
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "nonce": grant["nonce"],
            **self.claims,
            **self.id_token_overrides,
        }
        key = _rsa_key() if self.sign_with_other_key else self.key
        return jwt.encode(payload, key, algorithm="RS256", headers={"kid": KEY_ID})


def _handler(provider: Provider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet
            return

        def _json(self, body: Any, status: int = 200) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _redirect(self, location: str) -> None:
            self.send_response(302)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self) -> None:  # noqa: N802
            parts = urlsplit(self.path)
            query = {name: values[0] for name, values in parse_qs(parts.query).items()}
            if parts.path == "/.well-known/openid-configuration":
                return self._json(
                    {
                        "issuer": provider.issuer,
                        "authorization_endpoint": f"{provider.url}/authorize",
                        "token_endpoint": f"{provider.url}/token",
                        "userinfo_endpoint": f"{provider.url}/userinfo",
                        "jwks_uri": f"{provider.url}/jwks",
                        "response_types_supported": ["code"],
                        "subject_types_supported": ["public"],
                        "id_token_signing_alg_values_supported": ["RS256"],
                    }
                )
            if parts.path == "/jwks":
                return self._json(provider.jwks())
            if parts.path == "/authorize":
                if query.get("client_id") != CLIENT_ID or query.get("response_type") != "code":
                    return self._json({"error": "invalid_request"}, 400)
                if "form" in query:
                    return self._form(parts.query)
                return self._approve(query)
            if parts.path == "/approve":
                return self._approve(query)
            if parts.path == "/userinfo":
                token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                grant = provider.access_tokens.get(token)
                if grant is None:
                    return self._json({"error": "invalid_token"}, 401)
                return self._json(grant["claims"])
            return self._json({"error": "not_found"}, 404)

        def _form(self, query: str) -> None:
            page = (
                "<!doctype html><title>Ministry directory</title><h1>Ministry directory</h1>"
                f'<form method="get" action="/approve"><input type="hidden" name="q" value="{query}">'
                f"<p id=account>{provider.claims.get('preferred_username', '')}</p>"
                '<button id="approve" type="submit">Sign in</button></form>'
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def _approve(self, query: dict[str, str]) -> None:
            if "q" in query:
                query = {name: values[0] for name, values in parse_qs(query["q"]).items()}
            code = secrets.token_urlsafe(16)
            provider.codes[code] = {
                "redirect_uri": query["redirect_uri"],
                "nonce": query.get("nonce"),
                "challenge": query.get("code_challenge"),
                "claims": dict(provider.claims),
            }
            self._redirect(f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}")

        def do_POST(self) -> None:  # noqa: N802
            if urlsplit(self.path).path != "/token":
                return self._json({"error": "not_found"}, 404)
            provider.token_requests += 1
            length = int(self.headers.get("Content-Length", "0"))
            form = {name: values[0] for name, values in parse_qs(self.rfile.read(length).decode()).items()}
            if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
                return self._json({"error": "invalid_client"}, 401)
            grant = provider.codes.pop(form.get("code", ""), None)  # a code works once
            if grant is None or grant["redirect_uri"] != form.get("redirect_uri"):
                return self._json({"error": "invalid_grant"}, 400)
            if grant["challenge"]:
                digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
                if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant["challenge"]:
                    return self._json({"error": "invalid_grant"}, 400)
            access_token = secrets.token_urlsafe(16)
            provider.access_tokens[access_token] = grant
            return self._json(
                {
                    "access_token": access_token,
                    "token_type": "Bearer",
                    "expires_in": 300,
                    "id_token": provider.id_token(grant),
                }
            )

    return Handler


class ProviderServer:
    """The provider on a free port of 127.0.0.1, in a thread, for the length of a test."""

    def __init__(self) -> None:
        self.provider = Provider()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.provider))
        self.provider.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Provider:
        self.thread.start()
        return self.provider

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
