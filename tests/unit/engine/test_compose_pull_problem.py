"""``pull_problem``: a failed ``docker pull`` in words (the registry's answers as docker
prints them), always followed by docker's own text."""

from __future__ import annotations

import pytest

from windflow_desktop.engine.compose import pull_problem


@pytest.mark.parametrize(("stderr", "words"), [
    ("Error response from daemon: manifest for r:5000/a:1 not found: manifest unknown",
     "r:5000/a:1 was not found in its registry"),
    ("Error response from daemon: pull access denied for a, repository does not exist or "
     "may require 'docker login': denied: requested access to the resource is denied",
     "r:5000/a:1 was not found in its registry"),
    ("Error response from daemon: Head \"https://r/v2/a/manifests/1\": unauthorized: "
     "authentication required", "the registry refused r:5000/a:1: log in to it on web-01"),
    ('Error response from daemon: Get "http://r:5000/v2/": dial tcp 127.0.0.1:5000: '
     "connect: connection refused", "the registry of r:5000/a:1 cannot be reached from web-01"),
    ("Error response from daemon: Get \"https://registry-1.docker.io/v2/\": dial tcp: "
     "lookup registry-1.docker.io: no such host",
     "the registry of r:5000/a:1 cannot be reached from web-01"),
    ("Error response from daemon: no matching manifest for linux/arm64/v8 in the manifest "
     "list entries: no match for platform in manifest: not found",
     "r:5000/a:1 has no build for the platform of web-01"),
    ('Error response from daemon: Get "https://r:5000/v2/": tls: failed to verify '
     "certificate: x509: certificate signed by unknown authority",
     "the registry of r:5000/a:1 presents a certificate web-01 does not trust"),
    ("Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker "
     "daemon running?", "the Docker engine on web-01 does not answer"),
])
def test_known_answers_are_said_in_words(stderr: str, words: str) -> None:
    text = pull_problem("r:5000/a:1", stderr, "web-01")
    assert text.startswith(words) and f"(docker said: {stderr[:20]}" in text


def test_an_unknown_answer_is_docker_s_own() -> None:
    assert pull_problem("a:1", "something odd\n", "web-01") == "something odd"
