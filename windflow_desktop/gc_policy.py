"""The app's garbage-collection policy: full collections only when the app is quiet.

CPython's cyclic collector starts a full (generation 2) collection on its own every so
often, and a full collection scans every tracked object of the heap: on a long-lived
heap that is 50-200 ms on the Qt thread, landing wherever allocation pushes it — mostly
in the middle of an event burst, the very moment the window must keep up (an 86.6 ms
stall was measured). So, for the whole life of the app:

- at start-up (workspace open, window built) collect once and freeze the heap
  (``gc.freeze()``): what lives until exit is never scanned again;
- automatic full collections are switched off (the generation-2 threshold is out of
  reach); the young generations stay automatic, and they are cheap;
- once the young collections have promoted as much as would have started a full
  collection (checked every ``check_ms``), a collection is *due*: it runs when the app
  has been quiet for ``quiet_ms`` — every bus batch and every store's busy change
  (``watch``) pushes it back — collecting what was promoted since the last freeze and
  freezing it again, at a cost in proportion to that, not to the heap;
- every ``sweep_every_s`` a due collection sweeps the whole heap instead
  (``gc.unfreeze(); gc.collect(); gc.freeze()``), so cycles among frozen objects that
  became garbage since (a closed page, a replaced list) are still reclaimed;
- activity that never pauses for ``max_wait_s`` gets its collection anyway.
"""

from __future__ import annotations

import gc
import logging
import time
from typing import Any

from PySide6.QtCore import QObject, QTimer, SignalInstance

log = logging.getLogger("windflow.app.gc")

_OUT_OF_REACH = 1_000_000_000  # gen-1 collections before CPython would start a full one
_DUE_AFTER = 10  # CPython's default generation-2 threshold: what "due" means here


class GcPolicy(QObject):
    """Keeps full garbage collections out of bursts; see the module docstring.

    ``collections`` and ``sweeps`` count the collections run so far (a sweep is also a
    collection); ``last_pause_ms`` is how long the latest one held the thread.
    """

    def __init__(
        self,
        *,
        quiet_ms: int = 2_000,
        check_ms: int = 1_000,
        sweep_every_s: float = 600.0,
        max_wait_s: float = 30.0,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._sweep_every_s = sweep_every_s
        self._max_wait_s = max_wait_s
        self._quiet = QTimer(self)
        self._quiet.setSingleShot(True)
        self._quiet.setInterval(quiet_ms)
        self._quiet.timeout.connect(self._collect)
        self._check = QTimer(self)
        self._check.setInterval(check_ms)
        self._check.timeout.connect(self._check_due)
        self._saved_threshold: tuple[int, int, int] | None = None
        self._due_since: float | None = None
        self._last_sweep = 0.0
        self.collections = 0
        self.sweeps = 0
        self.last_pause_ms = 0.0

    @property
    def active(self) -> bool:
        return self._saved_threshold is not None

    @property
    def due(self) -> bool:
        """A collection is waiting for a quiet moment."""
        return self._due_since is not None

    def start(self) -> None:
        """Collect and freeze the heap built so far; take over full collections."""
        if self.active:
            return
        self._saved_threshold = gc.get_threshold()
        young, middle, _ = self._saved_threshold
        gc.set_threshold(young, middle, _OUT_OF_REACH)
        self._run(sweep=False)
        self._last_sweep = time.monotonic()
        self._check.start()

    def stop(self) -> None:
        """Hand collections back to CPython (thresholds restored, heap unfrozen)."""
        if self._saved_threshold is None:
            return
        self._check.stop()
        self._quiet.stop()
        gc.set_threshold(*self._saved_threshold)
        self._saved_threshold = None
        self._due_since = None
        gc.unfreeze()

    def watch(self, signal: SignalInstance) -> None:
        """Count each emission of ``signal`` as activity (a bus batch, a store's load);
        the connection ends with the policy or the sender, whichever goes first."""
        signal.connect(self.note_activity)

    def note_activity(self, *_args: Any) -> None:
        """The app is busy: a due collection waits until it has been quiet for a while."""
        if self._due_since is not None:
            self._quiet.start()  # (re)starts the quiet period

    def _check_due(self) -> None:
        if self._due_since is None:
            if gc.get_count()[2] >= _DUE_AFTER:
                self._due_since = time.monotonic()
                self._quiet.start()
        elif time.monotonic() - self._due_since >= self._max_wait_s:
            self._collect()  # no quiet moment came: do not wait for ever

    def _collect(self) -> None:
        self._quiet.stop()
        if self._saved_threshold is None or self._due_since is None:
            return
        now = time.monotonic()
        self._run(sweep=now - self._last_sweep >= self._sweep_every_s)
        self._due_since = None

    def _run(self, *, sweep: bool) -> None:
        started = time.perf_counter()
        if sweep:
            gc.unfreeze()
            self._last_sweep = time.monotonic()
            self.sweeps += 1
        found = gc.collect()
        gc.freeze()
        self.collections += 1
        self.last_pause_ms = (time.perf_counter() - started) * 1000
        log.debug("%s: %d unreachable, %.1f ms, %d objects frozen",
                  "full sweep" if sweep else "collection", found, self.last_pause_ms,
                  gc.get_freeze_count())
