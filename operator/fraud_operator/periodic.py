"""The periodic reconcile: every FraudModel the operator watches is reconciled every ``interval`` seconds, one
reconcile at a time per FraudModel, each in a worker thread (a reconcile blocks: API calls, analyses).

Why not ``kopf.timer``: kopf (1.45) gives every timer and daemon a finalizer and has no option to leave it out.
A finalizer makes deleting a FraudModel, or its namespace, hang whenever the operator is not running, and ours
would guard nothing (children go with their owner references). So kopf only keeps an index of the FraudModels
(``@kopf.index``: in memory, fed by its watch, no finalizer, nothing written to the object) and this loop, started
by a ``@kopf.on.startup`` handler, does what the timer did, with the timer's retry rules (``next_delay``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

import kopf

log = logging.getLogger("fraud_operator")

Key = tuple[str, str]  # (namespace, name)
#: Reconciles one FraudModel; raises what reconcile_once raises.
Step = Callable[[str, str], object]
#: Posts a Warning Event about one FraudModel: (namespace, name, reason, message).
Warn = Callable[[str, str, str, str], None]

#: Seconds before retrying after an unexpected error (kopf's ``backoff`` the timer had).
BACKOFF = 3.0


def next_delay(error: BaseException | None, interval: float) -> float:
    """Pure: seconds until the next reconcile of a FraudModel whose last one ended with ``error``.

    The rules of the kopf timer this loop replaces: a TemporaryError names its own delay, any other exception
    is retried after BACKOFF, success and a PermanentError (the user must change the spec) wait one interval."""
    if error is None or isinstance(error, kopf.PermanentError):
        return interval
    if isinstance(error, kopf.TemporaryError):
        return interval if error.delay is None else float(error.delay)
    return BACKOFF


def error_reason(error: BaseException) -> str:
    """Pure: the Event reason for a failed reconcile."""
    return "ReconcileInvalid" if isinstance(error, kopf.PermanentError) else "ReconcileFailed"


@dataclass
class Reconciler:
    """Keeps one worker per FraudModel in ``known`` (kopf's live index): a worker reconciles, sleeps the delay
    ``next_delay`` gives, and ends once its FraudModel has left the index."""

    known: Collection[Key]
    step: Step
    warn: Warn
    interval: float
    #: How often the index is checked for new FraudModels (a new one waits at most this long).
    poll: float = 0.25
    workers: dict[Key, asyncio.Task[None]] = field(default_factory=dict)

    async def run(self) -> None:
        """Forever (until cancelled): start a worker for each FraudModel that has none running."""
        try:
            while True:
                self.spawn()
                await asyncio.sleep(min(self.poll, self.interval))
        finally:
            for task in self.workers.values():
                task.cancel()
            await asyncio.gather(*self.workers.values(), return_exceptions=True)

    def spawn(self) -> None:
        self.workers = {key: task for key, task in self.workers.items() if not task.done()}
        for key in list(self.known):
            if key not in self.workers:
                self.workers[key] = asyncio.create_task(self._worker(key), name=f"reconcile {key[0]}/{key[1]}")

    async def _worker(self, key: Key) -> None:
        last_reported = ""
        while key in self.known:
            delay, last_reported = await asyncio.to_thread(self._once, key, last_reported)
            await asyncio.sleep(delay)

    def _once(self, key: Key, last_reported: str) -> tuple[float, str]:
        """One reconcile (in a worker thread): the delay until the next, and the error last reported."""
        try:
            self.step(*key)
        except Exception as e:  # one FraudModel's failure must not stop the others
            delay = next_delay(e, self.interval)
            return delay, self._report(key, e, delay, last_reported)
        return next_delay(None, self.interval), ""

    def _report(self, key: Key, error: BaseException, delay: float, last_reported: str) -> str:
        """Log every failure; post an Event only when the message changes (not one every few seconds)."""
        namespace, name = key
        if isinstance(error, kopf.TemporaryError):
            log.info("reconcile of %s/%s will be retried in %.1fs: %s", namespace, name, delay, error)
            return last_reported
        message = f"{type(error).__name__}: {error}"
        log.error("reconcile of %s/%s failed (next in %.1fs): %s", namespace, name, delay, message, exc_info=error)
        if message != last_reported:
            try:
                self.warn(namespace, name, error_reason(error), message)
            except Exception:  # an Event is auxiliary: never let it stop the worker
                log.warning("could not post an Event for %s/%s", namespace, name, exc_info=True)
        return message
