"""Helpers shared by the real-node tests and `make bench-rollout`: a model bundle the pod's uid can read, and
what a test adds to the operator's rendered Deployment to run it on the real node."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lfd.contract import FEATURES, LABEL_FIELD
from lfd_dev.components import node_config
from lfd_dev.components.kubernetes import kubectl
from lfd_dev.settings import Settings

DEV_CSV = Path("/work/shared/data/creditcard/creditcard_dev.csv.gz")
#: Where the FraudModel's ``model.uri`` points inside the pod (a read-only hostPath mount of the bundle).
BUNDLE_IN_POD = "/models/bundle"


def fit_bundle(directory: Path, seed: int = 7) -> Path:
    """A small XGBoost bundle fitted on the real dev rows, world-readable (the pod runs as uid 10001)."""
    import xgboost as xgb

    from lfd.model_bundle import BundleMetadata, ModelBundle

    frame = pd.read_csv(DEV_CSV)
    x, y = frame[list(FEATURES)].to_numpy(np.float32), frame[LABEL_FIELD].to_numpy(np.float32)
    booster = xgb.train(
        {"objective": "binary:logistic", "max_depth": 3, "eta": 0.3, "nthread": 1, "seed": seed, "subsample": 0.8},
        xgb.DMatrix(x, label=y, feature_names=list(FEATURES)),
        num_boost_round=20,
    )
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    ModelBundle(booster, BundleMetadata(flavor="xgboost", threshold=0.5)).save(
        directory, reference=frame[list(FEATURES)].head(100)
    )
    for path in [*directory.parents[:2], directory, *directory.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return directory


def on_real_node(deployment: dict[str, Any], bundle: Path) -> dict[str, Any]:
    """The real node's toleration and selector, and the bundle mounted read-only at ``BUNDLE_IN_POD``."""
    pod = deployment["spec"]["template"]["spec"]
    pod["tolerations"] = [{"key": node_config.TAINT_KEY, "operator": "Exists", "effect": "NoSchedule"}]
    pod["nodeSelector"] = {node_config.NODE_LABEL: "real"}
    pod["volumes"].append({"name": "model", "hostPath": {"path": str(bundle), "type": "Directory"}})
    pod["containers"][0]["volumeMounts"].append({"name": "model", "mountPath": BUNDLE_IN_POD, "readOnly": True})
    pod["containers"][0]["imagePullPolicy"] = "IfNotPresent"
    return deployment


def kubectl_ok(settings: Settings, *args: str, input_text: str | None = None) -> str:
    result = kubectl(settings, *args, input_text=input_text)
    assert result.returncode == 0, f"kubectl {' '.join(args)}: {result.stderr}"
    return result.stdout


def helm(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    binary = settings.tool("helm")
    assert binary.exists(), f"{binary} missing: run `make setup`"
    return subprocess.run(
        [str(binary), f"--kubeconfig={settings.kubeconfig}", *args], capture_output=True, text=True, timeout=600
    )


def deployment_ready(settings: Settings, namespace: str, deployment: str, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        got = kubectl(settings, "-n", namespace, "get", "deployment", deployment, "-o", "json")
        if got.returncode == 0 and json.loads(got.stdout).get("status", {}).get("readyReplicas", 0) >= 1:
            return True
        time.sleep(2)
    return False
