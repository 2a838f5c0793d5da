"""The host-key question of any SSH connection is asked once over the window, whichever
page or deployment raised it: ``HostKeyQuestions.ask`` (the pool's callback) waits for
the answer given in ``HostKeyAnswers``' box; closing the box or no answer means no."""

from __future__ import annotations

import asyncio

from PySide6.QtWidgets import QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from tests.support.qt import Runner
from windflow_desktop.domain.models import HostKeyPrompt
from windflow_desktop.stores.host_keys import HostKeyQuestions
from windflow_desktop.ui.dialogs.target_hostkey import HostKeyAnswers

PROMPT = HostKeyPrompt(host="db.example.test", port=2222, key_type="ssh-ed25519",
                       fingerprint="SHA256:abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG")


def window_with_answers(qtbot: QtBot, questions: HostKeyQuestions) -> HostKeyAnswers:
    window = QWidget()
    qtbot.addWidget(window)
    window.show()
    return HostKeyAnswers(questions, window)


def test_yes_in_the_box_answers_the_pool(qtbot: QtBot, arun: Runner[bool]) -> None:
    questions = HostKeyQuestions()
    answers = window_with_answers(qtbot, questions)

    async def ask_and_answer() -> bool:
        asking = asyncio.ensure_future(questions.ask(PROMPT))
        while not answers.boxes:
            await asyncio.sleep(0.01)
        box = answers.boxes[0]
        assert "db.example.test port 2222" in box.text()
        assert PROMPT.fingerprint in box.informativeText()
        box.button(QMessageBox.StandardButton.Yes).click()
        return await asking

    assert arun(ask_and_answer()) is True
    assert answers.boxes == []


def test_closing_the_box_is_a_no(qtbot: QtBot, arun: Runner[bool]) -> None:
    questions = HostKeyQuestions()
    answers = window_with_answers(qtbot, questions)

    async def ask_and_close() -> bool:
        asking = asyncio.ensure_future(questions.ask(PROMPT))
        while not answers.boxes:
            await asyncio.sleep(0.01)
        answers.boxes[0].reject()
        return await asking

    assert arun(ask_and_close()) is False


def test_no_answer_in_time_is_a_no_and_closes_the_box(
    qtbot: QtBot, arun: Runner[bool]
) -> None:
    questions = HostKeyQuestions(wait_s=0.2)
    answers = window_with_answers(qtbot, questions)
    assert arun(questions.ask(PROMPT)) is False
    qtbot.waitUntil(lambda: not any(b.isVisible() for b in answers.boxes), timeout=5000)
