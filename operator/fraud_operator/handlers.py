"""kopf registration: thin handlers only, built for one ``OperatorConfig`` by ``build_registry`` and run with
``lfd operator run`` / ``python -m fraud_operator run`` (``cli.py``), which pass the settings in explicitly.

kopf watches FraudModels into an in-memory index; the periodic reconciler (``periodic.py``, started at start-up)
drives each one's state machine every ``interval`` seconds. It keeps no state of its own (everything lives in the
FraudModel's status and its children), so a restarted operator picks up a rollout exactly where it stopped.
Nothing here adds a finalizer to a FraudModel. Run exactly one replica (``--standalone``; see docs/operator.md).
Only kopf's public API is used (``tests/operator/test_kopf_public_api.py`` checks).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import kopf

from fraud_operator import metrics
from fraud_operator.analysis.runner import Runner
from fraud_operator.config import OperatorConfig
from fraud_operator.kube import Kube, fraudmodel_ref
from fraud_operator.periodic import Key, Reconciler
from fraud_operator.reconcile import reconcile_once
from fraud_operator.spec import GROUP, PLURAL, VERSION

#: The kopf index of watched FraudModels; kopf passes it to handlers as the keyword of this name.
INDEX_ID = "fraudmodels"


def build_registry(config: OperatorConfig) -> kopf.OperatorRegistry:
    """The operator's handlers for ``config`` in a registry of their own (given to ``kopf.run``)."""
    registry = kopf.OperatorRegistry()

    @kopf.on.login(id="login", registry=registry)
    def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
        # kopf puts its default login handlers in its default registry only: ours names one explicitly
        # (the kubernetes client's config: kubeconfig or the in-cluster service account).
        return kopf.login_via_client(**kwargs)

    @kopf.index(GROUP, VERSION, PLURAL, id=INDEX_ID, registry=registry)
    def fraudmodels(namespace: str | None, name: str, **_: Any) -> dict[Key, bool]:
        assert namespace is not None  # FraudModel is namespaced
        return {(namespace, name): True}

    @kopf.on.startup(id="configure", registry=registry)
    async def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **kwargs: Any) -> None:
        # No handler needs a finalizer, so kopf removes this one from any FraudModel still carrying it (put there
        # by an operator older than periodic.py): deleting those stops hanging too.
        settings.persistence.finalizer = f"{GROUP}/finalizer"
        # Our Events are posted by reconcile (Kube.post_event); kopf's own INFO chatter stays in the logs.
        settings.posting.level = logging.WARNING
        settings.watching.server_timeout = 120
        settings.scanning.disabled = True  # no cluster-wide namespace/CRD scans: the namespaced Role is enough
        kube = Kube.connect()
        runner = Runner(config, lookup=kube.cluster_ip)

        def step(namespace: str, name: str) -> None:
            reconcile_once(kube, config, runner, namespace, name)

        def warn(namespace: str, name: str, reason: str, message: str) -> None:
            kube.post_event(fraudmodel_ref(namespace, name), "Warning", reason, message)

        metrics.serve(config.metrics_port)
        # kwargs[INDEX_ID] is kopf's live index: empty now, filled by the watch as it lists and follows.
        reconciler = Reconciler(known=kwargs[INDEX_ID], step=step, warn=warn, interval=config.interval)
        memo["reconciler"] = asyncio.create_task(reconciler.run(), name="periodic reconcile")

    @kopf.on.probe(id="reconciling", registry=registry)
    def reconciling(memo: kopf.Memo, **_: Any) -> bool:
        """The liveness endpoint fails if the periodic reconciler has stopped."""
        task: asyncio.Task[None] = memo["reconciler"]
        if task.done():
            raise RuntimeError("the periodic reconciler has stopped")
        return True

    @kopf.on.cleanup(id="stop", registry=registry)
    async def stop(memo: kopf.Memo, **_: Any) -> None:
        task: asyncio.Task[None] | None = memo.get("reconciler")
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    return registry
