"""Operator-level settings (not per FraudModel): ``LFD_OPERATOR_*`` environment variables, overridden by
the flags of ``lfd operator run`` (``cli.config_from_args``), then passed to the handlers explicitly."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from lfd.constants import DEV_DATA

ENV_PREFIX = "LFD_OPERATOR_"


@dataclass(frozen=True)
class OperatorConfig:
    #: JSON file mapping "<namespace>/<deployment>" to a local URL (tests); empty = Service DNS (in-cluster).
    service_map: str = ""
    #: How analyses address a Service: "dns" (<svc>.<ns>.svc.cluster.local) or "cluster-ip" (read from the API:
    #: for clusters without cluster DNS).
    service_address: str = "dns"
    prometheus_url: str = "http://prometheus-server.monitoring.svc.cluster.local"
    replay_set: str = str(DEV_DATA)
    #: Passed to the scoring pods so `models:/` URIs resolve.
    mlflow_tracking_uri: str = ""
    #: ServiceAccount of the scoring pods ("" = the namespace's default); the chart passes its own.
    scoring_service_account: str = ""
    metrics_port: int = 9108
    #: Seconds between reconciles of one FraudModel (the timer that drives the state machine).
    interval: float = 2.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> OperatorConfig:
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        for name, default in vars(cls()).items():
            raw = env.get(ENV_PREFIX + name.upper())
            if raw:
                values[name] = type(default)(raw)
        return cls(**values)  # type: ignore[arg-type]
