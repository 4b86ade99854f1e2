"""Act on a firing trigger: train on recent labelled rows + the reference data, register ``challenger``,
point the FraudModel at it (the operator's gates decide promotion), and record each step.

Decide: ``training_rows`` and ``fraudmodel_patch`` / ``retrain_event`` are pure. Act: ``retrain`` runs
``lfd.training.pipeline`` (MLflow logging and registration included) and patches the FraudModel
through the Kubernetes API with the MLflow run link as annotations plus a Kubernetes Event.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pandas as pd

from lfd.contract import LABELLED_COLUMNS, TIME_FIELD

GROUP: Final = "ml.livefraud.io"  # the FraudModel API group (fraud_operator.spec.GROUP; product code apart)
VERSION: Final = "v1alpha1"
PLURAL: Final = "fraudmodels"
RUN_ANNOTATION: Final = f"{GROUP}/retrain-run"
REASON_ANNOTATION: Final = f"{GROUP}/retrain-reason"
AT_ANNOTATION: Final = f"{GROUP}/retrain-at"


@dataclass(frozen=True)
class RetrainConfig:
    tracking_uri: str
    reference_data: Path  # the labelled rows the champion learnt from (CSV/CSV.gz, contract columns + Class)
    time_budget: float = 60.0
    model_name: str = "fraud-detector"
    namespace: str | None = None  # FraudModel to update; None: only register
    fraudmodel: str | None = None
    experiment: str = "fraud-detector"
    max_trials: int | None = None
    kubeconfig: Path | None = None  # None: in-cluster service account, else ~/.kube/config / $KUBECONFIG
    families: tuple[str, ...] | None = None  # None: every family lfd train knows


@dataclass(frozen=True)
class RetrainResult:
    version: str | None
    run_id: str | None
    run_url: str | None
    refused: str | None
    rows: int


def training_rows(recent: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """Reference rows first, then the recent labelled window moved later in ``Time`` (the time split then
    holds out the newest rows, as in production)."""
    missing = [c for c in LABELLED_COLUMNS if c not in recent.columns]
    if missing:
        raise ValueError(f"recent labelled rows lack columns {missing[:5]}")
    late = recent[list(LABELLED_COLUMNS)].copy()
    late[TIME_FIELD] = reference[TIME_FIELD].max() + 1.0 + late[TIME_FIELD].rank(method="first")
    return pd.concat([reference[list(LABELLED_COLUMNS)], late], ignore_index=True)


def fraudmodel_patch(version: str, run_url: str | None, reason: str, now: dt.datetime) -> dict[str, Any]:
    return {
        "metadata": {
            "annotations": {
                RUN_ANNOTATION: run_url or "",
                REASON_ANNOTATION: reason[:250],
                AT_ANNOTATION: now.isoformat(timespec="seconds"),
            }
        },
        "spec": {"model": {"version": version, "alias": None, "uri": None}},
    }


def retrain_event(namespace: str, name: str, uid: str, message: str, now: dt.datetime) -> dict[str, Any]:
    stamp = now.isoformat(timespec="seconds").replace("+00:00", "Z")
    return {
        "metadata": {"generateName": f"{name}.retrain-", "namespace": namespace},
        "involvedObject": {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "FraudModel",
            "name": name,
            "namespace": namespace,
            "uid": uid,
        },
        "reason": "RetrainRegistered",
        "message": message[:1000],
        "type": "Normal",
        "source": {"component": "lfd-monitor"},
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "count": 1,
    }


def run_url(tracking_uri: str, experiment_id: str, run_id: str) -> str:
    return f"{tracking_uri.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}"


def retrain(recent: pd.DataFrame, config: RetrainConfig, reason: str) -> RetrainResult:
    import mlflow

    from lfd.training.data import load_labelled
    from lfd.training.families import FAMILIES
    from lfd.training.pipeline import run
    from lfd.training.report import TrainConfig

    families = tuple(f for f in FAMILIES if config.families is None or f in config.families)
    if not families:
        raise ValueError(f"RetrainConfig.families: none of {config.families} is one of {FAMILIES}")
    rows = training_rows(recent, load_labelled(config.reference_data))
    with tempfile.TemporaryDirectory(prefix="lfd-retrain-") as tmp:
        data = Path(tmp) / "labelled.csv"
        rows.to_csv(data, index=False)
        report = run(
            TrainConfig(
                data=data,
                time_budget=config.time_budget,
                tracking_uri=config.tracking_uri,
                model_name=config.model_name,
                experiment=config.experiment,
                max_trials=config.max_trials,
                families=families,
                show_progress=False,
            )
        )
    url = None
    if report.parent_run_id:
        experiment = mlflow.get_run(report.parent_run_id).info.experiment_id
        url = run_url(config.tracking_uri, experiment, report.parent_run_id)
    result = RetrainResult(report.registered_version, report.parent_run_id, url, report.registration_refused, len(rows))
    if result.version and config.namespace and config.fraudmodel:
        update_fraudmodel(config.namespace, config.fraudmodel, result, reason, config.kubeconfig)
    return result


def _api_client(kubeconfig: Path | None) -> Any:
    from kubernetes import config

    if kubeconfig is not None:
        return config.new_client_from_config(config_file=str(kubeconfig))  # type: ignore[no-untyped-call]
    try:
        config.load_incluster_config()  # type: ignore[no-untyped-call]
    except config.ConfigException:
        config.load_kube_config()  # type: ignore[no-untyped-call]
    return None  # the default client the loaders configured


def update_fraudmodel(
    namespace: str, name: str, result: RetrainResult, reason: str, kubeconfig: Path | None = None
) -> dict[str, Any]:
    """Point the FraudModel at the new version (merge patch: annotations + spec.model) and post an Event.

    Returns the patched object. The operator sees a new pod template and starts a blue-green rollout whose
    gates decide whether the challenger takes traffic."""
    from kubernetes import client

    if result.version is None:
        raise ValueError("update_fraudmodel: the retrain registered no version (nothing to roll out)")
    api = _api_client(kubeconfig)
    now = dt.datetime.now(dt.UTC)
    body: Any = client.CustomObjectsApi(api).patch_namespaced_custom_object(
        GROUP,
        VERSION,
        namespace,
        PLURAL,
        name,
        fraudmodel_patch(result.version, result.run_url, reason, now),
        _content_type="application/merge-patch+json",  # nulls remove spec.model's alias/uri
    )
    message = f"retrained ({reason}); registered version {result.version} as @challenger; MLflow run {result.run_url}"
    event: Any = retrain_event(namespace, name, body["metadata"]["uid"], message, now)  # a dict is a valid body
    client.CoreV1Api(api).create_namespaced_event(namespace, event)
    patched: dict[str, Any] = body
    return patched
