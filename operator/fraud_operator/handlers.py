"""kopf registration: thin handlers only, built for one ``OperatorConfig`` by ``build_registry`` and run with
``lfd operator run`` / ``python -m fraud_operator run`` (``cli.py``), which pass the settings in explicitly.

One timer per FraudModel drives the state machine every ``interval`` seconds; it never sleeps and keeps no
state of its own (everything lives in the FraudModel's status and its children), so a restarted operator picks
up a rollout exactly where it stopped. Run exactly one replica (``--standalone``; see docs/operator.md).
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import kopf

from fraud_operator import metrics
from fraud_operator.analysis.runner import Runner
from fraud_operator.config import OperatorConfig
from fraud_operator.kube import Kube
from fraud_operator.reconcile import reconcile_once
from fraud_operator.spec import GROUP, PLURAL, VERSION

RECONCILE_ID = "reconcile"


class _QuietTimerSuccess(logging.Filter):
    """Drop kopf's "Timer 'reconcile' succeeded." line: it would repeat every interval; our step logs say more."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Timer 'reconcile' succeeded" not in record.getMessage()


def build_registry(config: OperatorConfig) -> kopf.OperatorRegistry:
    """The operator's handlers for ``config`` in a registry of their own (given to ``kopf.run``)."""
    registry = kopf.OperatorRegistry()

    @kopf.on.login(id="login", registry=registry)
    def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
        # kopf puts its default login handlers in its default registry only: ours names one explicitly
        # (the kubernetes client's config: kubeconfig or the in-cluster service account).
        return kopf.login_via_client(**kwargs)

    @kopf.on.startup(id="configure", registry=registry)
    def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
        settings.persistence.finalizer = f"{GROUP}/finalizer"
        settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
        settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
            prefix=GROUP, key="last-handled-configuration"
        )
        settings.posting.level = logging.WARNING  # our Events are explicit; kopf's own INFO chatter stays in logs
        settings.watching.server_timeout = 120
        settings.scanning.disabled = True  # no cluster-wide namespace/CRD scans: the namespaced Role is enough
        logging.getLogger("kopf.objects").addFilter(_QuietTimerSuccess())
        memo["config"] = config
        memo["kube"] = Kube.connect()
        memo["runner"] = Runner(config)
        metrics.serve(config.metrics_port)

    @kopf.timer(
        GROUP,
        VERSION,
        PLURAL,
        id=RECONCILE_ID,
        interval=config.interval,
        initial_delay=0.0,
        backoff=3.0,
        registry=registry,
    )
    def reconcile(name: str, namespace: str | None, memo: Any, **_: Any) -> None:
        assert namespace is not None  # FraudModel is namespaced
        reconcile_once(memo["kube"], memo["config"], memo["runner"], namespace, name)

    _without_finalizer(registry, RECONCILE_ID)
    return registry


def _without_finalizer(registry: kopf.OperatorRegistry, handler_id: str) -> None:
    """kopf gives every timer a finalizer. Ours needs none (children go with their owner references), and one
    would make deleting a FraudModel, or its namespace, hang whenever the operator is not running.

    kopf (1.45) has no public option for this: ``requires_finalizer=True`` is fixed for timers and daemons,
    so this reaches into the registry. It is the operator's only private kopf access; see docs/architecture.md."""
    spawning = registry._spawning
    spawning._handlers = [
        dataclasses.replace(h, requires_finalizer=False) if h.id == handler_id else h for h in spawning._handlers
    ]
