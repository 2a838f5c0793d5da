"""The markers ``gui``, ``docker``, ``sshd``, ``postgres`` and ``redis`` land on the tests
that need them (tests/support/markers.py), so ``pytest -m "not docker"`` leaves those out."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.markers import BY_FIXTURE, markers_for

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").exists())
TESTS = ROOT / "tests"
SERVICES = sorted(BY_FIXTURE)

REPORT_PLUGIN = '''
import json, os

def pytest_collection_finish(session):
    marks = {item.nodeid: sorted({m.name for m in item.iter_markers()})
             for item in session.items}
    with open(os.environ["MARKS_REPORT"], "w") as out:
        json.dump(marks, out)
'''


def test_markers_by_folder_and_fixture() -> None:
    assert markers_for(TESTS / "gui" / "ui" / "test_x.py", ["qtbot"], TESTS) == ["gui"]
    assert markers_for(TESTS / "unit" / "test_x.py", ["qapp", "tmp_path"], TESTS) == []
    assert markers_for(TESTS / "integration" / "test_x.py",
                       ["target_world", "docker_engine", "sshd_server"], TESTS) == [
        "docker", "sshd"]
    assert markers_for(TESTS / "gui" / "test_x.py", ["postgres_url", "redis_url"], TESTS) == [
        "gui", "postgres", "redis"]
    # a path outside tests/ (a plugin's item) gets markers by fixture only
    assert markers_for(Path("/elsewhere/test_x.py"), ["redis_server"], TESTS) == ["redis"]


@pytest.fixture(scope="module")
def collected(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """Every test of the suite with its markers, from a real collection (nothing runs)."""
    folder = tmp_path_factory.mktemp("plugin")
    (folder / "marks_report.py").write_text(REPORT_PLUGIN)
    report = folder / "marks.json"
    env = {**os.environ, "MARKS_REPORT": str(report),
           "PYTHONPATH": os.pathsep.join([str(folder), str(ROOT)])}
    subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q",
                    "-p", "marks_report", "-p", "no:cacheprovider", str(TESTS)],
                   cwd=ROOT, env=env, check=True, capture_output=True, timeout=110)
    marks: dict[str, list[str]] = json.loads(report.read_text())
    return marks


def test_collected_tests_carry_their_markers(collected: dict[str, list[str]]) -> None:
    assert len(collected) > 100
    for marker in [*SERVICES, "gui"]:
        assert any(marker in marks for marks in collected.values()), marker
    for nodeid, marks in collected.items():
        if nodeid.startswith("tests/gui/"):
            assert "gui" in marks, nodeid
        if nodeid.startswith("tests/unit/"):  # unit tests run on any machine
            assert not set(marks) & set(SERVICES), nodeid
        if "sshd" in marks:  # the test sshd runs in a container of the test engine
            assert "docker" in marks, nodeid


@pytest.mark.parametrize(("module", "marker"), [
    ("test_deploy_ssh.py", "sshd"),      # sshd_server (and docker_engine under it)
    ("test_deploy_local.py", "docker"),  # docker_engine
    ("test_targets_service.py", "sshd"),  # target_world -> sshd_server, a fixture plugin
])
def test_fixture_users_are_marked(collected: dict[str, list[str]], module: str,
                                  marker: str) -> None:
    items = {n: m for n, m in collected.items() if n.split("::")[0].endswith("/" + module)}
    assert items, module
    assert any(marker in marks for marks in items.values()), module
