"""JWT issue/verify: claims, lifetimes, type confusion, expiry, tampering, foreign keys."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from windflow_desktop.domain.errors import AuthenticationError
from windflow_desktop.domain.identity import TokenType
from windflow_desktop.security.tokens import TokenIssuer, generate_signing_key

USER, ORG = uuid.uuid4(), uuid.uuid4()


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def issuer(clock: Clock) -> TokenIssuer:
    return TokenIssuer(generate_signing_key(), clock=clock)


def test_pair_has_all_claims_and_lifetimes(issuer: TokenIssuer, clock: Clock) -> None:
    pair = issuer.issue_pair(USER, ORG)
    raw = jwt.decode(pair.access_token, options={"verify_signature": False})
    assert set(raw) >= {"type", "sub", "org", "jti", "iat", "exp"}
    assert raw["type"] == "access" and raw["sub"] == str(USER) and raw["org"] == str(ORG)
    assert raw["exp"] - raw["iat"] == 15 * 60
    raw_r = jwt.decode(pair.refresh_token, options={"verify_signature": False})
    assert raw_r["type"] == "refresh" and raw_r["exp"] - raw_r["iat"] == 7 * 24 * 3600
    assert raw["jti"] != raw_r["jti"]
    claims = issuer.verify(pair.access_token, TokenType.ACCESS)
    assert claims.sub == USER and claims.org == ORG and claims.iat == clock.now
    assert issuer.verify(pair.refresh_token, TokenType.REFRESH).jti == raw_r["jti"]


def test_pair_repr_hides_tokens(issuer: TokenIssuer) -> None:
    pair = issuer.issue_pair(USER, None)
    assert pair.access_token not in repr(pair) and pair.refresh_token not in repr(pair)
    assert issuer.verify(pair.access_token, TokenType.ACCESS).org is None


def test_wrong_type_is_refused_both_ways(issuer: TokenIssuer) -> None:
    pair = issuer.issue_pair(USER, ORG)
    with pytest.raises(AuthenticationError) as err:
        issuer.verify(pair.access_token, TokenType.REFRESH)
    assert err.value.code == "TOKEN_WRONG_TYPE"
    with pytest.raises(AuthenticationError):
        issuer.verify(pair.refresh_token, TokenType.ACCESS)


def test_expired_tokens_are_refused(issuer: TokenIssuer, clock: Clock) -> None:
    pair = issuer.issue_pair(USER, ORG)
    clock.now += timedelta(minutes=14, seconds=59)
    issuer.verify(pair.access_token, TokenType.ACCESS)
    clock.now += timedelta(seconds=1)
    with pytest.raises(AuthenticationError) as err:
        issuer.verify(pair.access_token, TokenType.ACCESS)
    assert err.value.code == "TOKEN_EXPIRED"
    issuer.verify(pair.refresh_token, TokenType.REFRESH)
    clock.now += timedelta(days=7)
    with pytest.raises(AuthenticationError):
        issuer.verify(pair.refresh_token, TokenType.REFRESH)


def _tamper(token: str, **changes: object) -> str:
    head, body, sig = token.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload.update(changes)
    new_body = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    return f"{head}.{new_body}.{sig}"


def test_tampered_token_is_refused(issuer: TokenIssuer) -> None:
    pair = issuer.issue_pair(USER, ORG)
    forged = _tamper(pair.access_token, sub=str(uuid.uuid4()))
    with pytest.raises(AuthenticationError) as err:
        issuer.verify(forged, TokenType.ACCESS)
    assert err.value.code == "TOKEN_INVALID"
    # Changing the type claim does not turn an access token into a refresh token.
    with pytest.raises(AuthenticationError):
        issuer.verify(_tamper(pair.access_token, type="refresh"), TokenType.REFRESH)
    with pytest.raises(AuthenticationError):
        issuer.verify(pair.access_token[:-2] + "xx", TokenType.ACCESS)
    with pytest.raises(AuthenticationError):
        issuer.verify("not.a.jwt", TokenType.ACCESS)


def test_foreign_key_and_alg_none_are_refused(issuer: TokenIssuer, clock: Clock) -> None:
    other = TokenIssuer(generate_signing_key(), clock=clock)
    with pytest.raises(AuthenticationError):
        issuer.verify(other.issue_pair(USER, ORG).access_token, TokenType.ACCESS)
    unsigned = jwt.encode(
        {"iss": "windflow-desktop", "type": "access", "sub": str(USER), "org": None,
         "jti": "x", "iat": int(clock.now.timestamp()),
         "exp": int(clock.now.timestamp()) + 60},
        key=None, algorithm="none",
    )
    with pytest.raises(AuthenticationError):
        issuer.verify(unsigned, TokenType.ACCESS)


def test_missing_claims_are_refused(issuer: TokenIssuer, clock: Clock) -> None:
    key = issuer._key
    token = jwt.encode({"iss": "windflow-desktop", "sub": str(USER),
                        "exp": int(clock.now.timestamp()) + 60}, key, algorithm="HS256")
    with pytest.raises(AuthenticationError):
        issuer.verify(token, TokenType.ACCESS)


def test_short_key_is_refused() -> None:
    with pytest.raises(ValueError):
        TokenIssuer("too-short")
