"""``WorkersPanel`` (Settings → Workers, server mode, operator and up): the workers
alive with their last heartbeat, how many jobs are queued, running and dead, and the
organization's dead jobs with the reason each died; Retry deploys a dead job's
deployment again. Refreshed every few seconds while shown."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any

from PySide6.QtWidgets import QLabel, QPushButton, QTableView, QWidget

from ...domain.words import plural, seconds_ago
from ...domain.workers import DeadJob, WorkerBeat
from ...stores.workers import WorkersStore
from ..models.base import Column, RowTableModel
from ..widgets.layouts import hbox, vbox
from ..widgets.list_tools import fit_columns, selected_row
from ..widgets.message_bar import MessageBar

WORKER_COLUMNS: list[Column[WorkerBeat]] = [
    Column("Worker", lambda w: w.name),
    Column("Last heartbeat", lambda w: seconds_ago(w.last_beat)),
]
DEAD_COLUMNS: list[Column[DeadJob]] = [
    Column("Deployment", lambda d: str(d.deployment_id)[:8]),
    Column("Tries", lambda d: str(d.deliveries)),
    Column("Why it died", lambda d: d.reason),
]


class WorkersPanel(QWidget):
    def __init__(self, store: WorkersStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.setAccessibleName("Workers")
        self.message_bar = MessageBar()
        self.message_bar.bind(store)
        intro = QLabel("Deployments run on worker processes that take them from the job "
                       "queue. A job whose worker stopped too many times is dead: retry "
                       "deploys it again.")
        intro.setWordWrap(True)
        self.counts = QLabel()
        self.counts.setAccessibleName("Jobs")
        self.workers_model: RowTableModel[WorkerBeat] = RowTableModel(
            WORKER_COLUMNS, key=lambda w: w.name)
        self.workers_table = self._table(self.workers_model, "Workers alive")
        self.dead_model: RowTableModel[DeadJob] = RowTableModel(DEAD_COLUMNS,
                                                                key=lambda d: d.id)
        self.dead_table = self._table(self.dead_model, "Dead jobs")
        self.retry_button = QPushButton("Retry")
        self.retry_button.setAccessibleName("Retry the dead job")
        self.retry_button.clicked.connect(self.retry_selected)
        self.dead_table.selectionModel().selectionChanged.connect(self._selection)
        self._fits = (fit_columns(self.workers_table), fit_columns(self.dead_table))
        vbox(self, intro, self.message_bar, self.counts, QLabel("Workers alive"),
             (self.workers_table, 1), hbox(QLabel("Dead jobs"), None, self.retry_button),
             (self.dead_table, 1))
        store.sig_report_changed.connect(self._reset)
        store.sig_allowed_changed.connect(lambda _allowed: self._selection())
        self._reset()

    @staticmethod
    def _table(model: RowTableModel[Any], name: str) -> QTableView:
        table = QTableView()
        table.setModel(model)
        table.setAccessibleName(name)
        table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        table.verticalHeader().hide()
        table.horizontalHeader().setStretchLastSection(True)
        return table

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        self.store.follow()

    def hideEvent(self, event: Any) -> None:
        super().hideEvent(event)
        self.store.unfollow()

    def _reset(self) -> None:
        report = self.store.report
        self.counts.setText(f"{report.queued} queued · {report.running} running · "
                            f"{report.dead} dead · "
                            f"{plural(len(report.workers), 'worker')} alive")
        # Row by row, every few seconds: the selected dead job stays selected.
        _sync(self.workers_model, report.workers, lambda w: w.name)
        _sync(self.dead_model, report.dead_jobs, lambda d: d.id)
        self._selection()

    def _selection(self) -> None:
        # Retry is for those who may manage deployments (the page is theirs only, but a
        # role can change while it is shown).
        self.retry_button.setVisible(self.store.allowed)
        self.retry_button.setEnabled(selected_row(self.dead_table, DeadJob) is not None)

    def retry_selected(self) -> None:
        job = selected_row(self.dead_table, DeadJob)
        if job is not None and self.store.allowed:
            self.store.retry(job.id)


def _sync(model: RowTableModel[Any], rows: Sequence[Any],
          key: Callable[[Any], Hashable]) -> None:
    keep = {key(r) for r in rows}
    model.apply(rows, [key(r) for r in model.rows() if key(r) not in keep])
