"""A token service for a test registry that asks for a login: the registry's ``auth.token``
section points at it (``auth_config``); it hands out RS256 tokens (signed with a fresh
self-signed certificate the registry trusts, sent in ``x5c``) to ``user``/``password``
only, and answers 401 to any other login — as Docker Hub's or Harbor's token services do.

``TokenService.start()`` serves it on a free loopback port in a thread; ``stop()``."""

from __future__ import annotations

import base64
import datetime
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from tests.env.services import free_port

SERVICE = "wf-test-registry"
ISSUER = "wf-test-tokens"


class TokenService:
    def __init__(self, folder: Path, user: str, password: str) -> None:
        self.user, self.password = user, password
        self.port = free_port()
        self.bundle = folder / "token-ca.pem"
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ISSUER)])
        now = datetime.datetime.now(datetime.UTC)
        self._cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                      .public_key(self._key.public_key()).serial_number(x509.random_serial_number())
                      .not_valid_before(now - datetime.timedelta(minutes=5))
                      .not_valid_after(now + datetime.timedelta(days=1))
                      .add_extension(x509.BasicConstraints(ca=True, path_length=None),
                                     critical=True)
                      .sign(self._key, hashes.SHA256()))
        self.bundle.write_bytes(self._cert.public_bytes(serialization.Encoding.PEM))
        self.refused = 0
        self._server: ThreadingHTTPServer | None = None

    @property
    def realm(self) -> str:
        return f"http://127.0.0.1:{self.port}/token"

    def auth_config(self) -> str:
        """The ``auth:`` section of the registry's configuration."""
        return (f"auth:\n  token:\n    realm: {self.realm}\n    service: {SERVICE}\n"
                f"    issuer: {ISSUER}\n    rootcertbundle: {self.bundle}\n")

    def token(self, scope: str) -> str:
        access: list[dict[str, Any]] = []
        if scope.startswith("repository:"):
            _, name, actions = scope.split(":", 2)
            access.append({"type": "repository", "name": name,
                           "actions": actions.split(",")})
        now = int(time.time())
        claims = {"iss": ISSUER, "sub": self.user, "aud": SERVICE, "exp": now + 300,
                  "nbf": now - 10, "iat": now, "jti": uuid.uuid4().hex, "access": access}
        der = self._cert.public_bytes(serialization.Encoding.DER)
        return jwt.encode(claims, self._key, algorithm="RS256",
                          headers={"x5c": [base64.b64encode(der).decode()]})

    def start(self) -> None:
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                login = self.headers.get("Authorization", "")
                expected = "Basic " + base64.b64encode(
                    f"{service.user}:{service.password}".encode()).decode()
                if login != expected:
                    service.refused += 1
                    self._answer(401, {"details": "incorrect username or password"})
                    return
                scope = parse_qs(urlparse(self.path).query).get("scope", [""])[0]
                token = service.token(scope)
                self._answer(200, {"token": token, "access_token": token,
                                   "expires_in": 300})

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True,
                         name="registry-tokens").start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
