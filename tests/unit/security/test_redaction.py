"""Secrets found by their shape are redacted, known secret values are masked, and the
rest of a line is left readable."""

from __future__ import annotations

import time

import pytest

from windflow_desktop.domain.masking import mask
from windflow_desktop.security.redaction import KnownSecrets, redact

LEAKS = [
    ("POSTGRES_PASSWORD=hunter2-db", "hunter2-db"),
    ("env: MYSQL_ROOT_PASSWORD: 'root pw 1'", "root pw 1"),
    ('{"password": "pa55-json", "user": "ada"}', "pa55-json"),
    ("{'db_password':'pa55-py'}", "pa55-py"),
    ("connecting to redis://:redis-pw-1@cache:6379/0", "redis-pw-1"),
    ("postgresql://wf:pg-pw-2@db:5432/wf", "pg-pw-2"),
    ("curl -H x-api-key=key-123abc", "key-123abc"),
    ("api-key=key-456def and more", "key-456def"),
    ("GET /hook?token=tok-789ghi&page=2", "tok-789ghi"),
    ("AWS_SECRET_ACCESS_KEY=aws/secret+key", "aws/secret+key"),
    ("Authorization: Bearer abc.def-ghi", "abc.def-ghi"),
    ("jwt eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl", "eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl"),
    ("passphrase = kp-secret", "kp-secret"),
    ("refresh_token: rt-0001", "rt-0001"),
]


@pytest.mark.parametrize(("line", "secret"), LEAKS, ids=[x[0][:24] for x in LEAKS])
def test_secrets_are_redacted_by_their_shape(line: str, secret: str) -> None:
    out = redact(line)
    assert secret not in out
    assert "redacted" in out


def test_the_rest_of_the_line_stays_readable() -> None:
    assert redact('{"password": "x1y2", "user": "ada"}') == \
        '{"password": "[redacted]", "user": "ada"}'
    assert redact("POSTGRES_PASSWORD=abc POSTGRES_USER=wf") == \
        "POSTGRES_PASSWORD=[redacted] POSTGRES_USER=wf"
    assert redact("redis://:pw@cache:6379") == "redis://:[redacted]@cache:6379"
    for plain in ("deployment 5 finished: succeeded", "3 tokens rotated",
                  "https://example.com/path:80", "secret stored in the keyring"):
        assert redact(plain) == plain


def test_known_values_are_masked_longest_first() -> None:
    assert mask("pw=abcd and abcdef", ["abcd", "abcdef"]) == "pw=******** and ********"
    assert mask("too short: abc", ["abc"]) == "too short: abc"


def test_known_secrets_are_counted_per_holder() -> None:
    known = KnownSecrets()
    with known.registered(["shared-value"]):
        with known.registered(["shared-value", "own-value"]):
            assert known.mask("shared-value own-value") == "******** ********"
        assert known.mask("shared-value own-value") == "******** own-value"
    assert known.values() == ()


@pytest.mark.parametrize("word", ["token", "a.", "x:", "eyJ", "http://", "a=b "])
def test_a_huge_line_is_redacted_in_linear_time(word: str) -> None:
    # Quadratic patterns took minutes on 200 KB of "token"; these take milliseconds.
    line = word * (200_000 // len(word))
    started = time.perf_counter()
    redact(line)
    assert time.perf_counter() - started < 2.0
