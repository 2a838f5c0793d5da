"""On a server no dialog asks about a new SSH host key: the connection is refused and
the key it offered waits; someone with ``targets:write`` trusts that exact fingerprint
through the API, and the next connection takes it (real sshd, real ``windflow serve``)."""

from __future__ import annotations

from pathlib import Path

from tests.env.sshd import SshServer
from tests.support.server import PASSWORD, create_owner, running_server


def test_a_new_host_key_waits_for_someone_to_trust_it(sshd_server: SshServer,
                                                     tmp_path: Path) -> None:
    create_owner(tmp_path)
    with running_server(tmp_path) as server, server.client() as http:
        def sign_in(user: str) -> dict[str, str]:
            token = http.post("/api/v1/auth/login",
                              json={"username": user, "password": PASSWORD}).json()
            return {"Authorization": f"Bearer {token['access_token']}"}

        olga = sign_in("olga")
        http.post("/api/v1/users", headers=olga, json={
            "username": "otto", "email": "otto@example.test", "password": PASSWORD,
            "role": "operator"})
        box = http.post("/api/v1/targets", headers=olga, json={
            "name": "box", "kind": "ssh", "host": sshd_server.host, "port": sshd_server.port,
            "username": sshd_server.user, "auth": "password",
            "secret": sshd_server.password}).json()
        first = http.post(f"/api/v1/targets/{box['id']}/test", headers=olga).json()
        assert first["status"] != "online" and "was not accepted" in str(first), first
        pending = http.get(f"/api/v1/targets/{box['id']}/host-key", headers=olga).json()
        assert pending["fingerprint"].startswith("SHA256:")

        assert http.post(f"/api/v1/targets/{box['id']}/host-key", headers=olga,
                         json={"fingerprint": "SHA256:not-the-one-it-offered"}
                         ).status_code == 409
        otto = sign_in("otto")  # an operator may test, not trust
        assert http.post(f"/api/v1/targets/{box['id']}/host-key", headers=otto,
                         json={"fingerprint": pending["fingerprint"]}).status_code == 403
        trusted = http.post(f"/api/v1/targets/{box['id']}/host-key", headers=olga,
                            json={"fingerprint": pending["fingerprint"]})
        assert trusted.status_code == 204, trusted.text
        second = http.post(f"/api/v1/targets/{box['id']}/test", headers=olga).json()
        assert second["status"] == "online", second
        assert http.get(f"/api/v1/targets/{box['id']}/host-key", headers=olga).json() is None
        assert "host_key_trusted" in str(http.get("/api/v1/activity", headers=olga).json())
