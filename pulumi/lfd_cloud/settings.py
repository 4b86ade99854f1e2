"""Stack configuration: one frozen dataclass with the documented defaults, parsed once from `pulumi config`.

``parse`` is pure (a mapping of config keys to raw values in, ``Settings`` or a ``ConfigError`` naming the
key out), so the defaults, the validation and Pulumi.yaml's documented defaults are tested without Pulumi.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Final, Literal

Target = Literal["aws", "cluster"]

#: What the streaming job's exactly-once sinks use (lfd.streaming.config.StreamConfig.transaction_timeout_ms);
#: the brokers' transaction.max.timeout.ms must be at least this or the sinks cannot start.
JOB_TRANSACTION_TIMEOUT_MS: Final = 900_000


class ConfigError(ValueError):
    """A stack config value breaks a rule; the message names the key (``lfd:<key>``) and the rule."""

    def __init__(self, key: str, rule: str) -> None:
        super().__init__(f"lfd:{key}: {rule}")
        self.key = key


@dataclass(frozen=True)
class Settings:
    """Every knob of the program. Field names are the config keys in snake_case (``lfd:<camelCase>``)."""

    # Which layers to create: "aws" = VPC, EKS, MSK, S3, ECR, IRSA and the app; "cluster" = only the app
    # layer, into the cluster of `kubeconfig` (any Kubernetes: the local stack, an existing EKS).
    target: Target = "aws"
    environment: str = "dev"
    region: str = "us-east-1"
    availability_zones: tuple[str, ...] = ()  # empty: <region>a, b, c
    vpc_cidr: str = "10.42.0.0/16"
    nat_gateway_per_az: bool = True
    flow_log_retention_days: int = 90
    kubernetes_version: str = "1.33"
    node_instance_type: str = "m7i.large"
    node_count: int = 3
    node_max_count: int = 6
    cluster_public_endpoint: bool = True
    public_access_cidrs: tuple[str, ...] = ()
    kafka_version: str = "3.9.x"
    kafka_instance_type: str = "kafka.m7g.large"
    kafka_volume_gib: int = 100
    kafka_transaction_max_timeout_ms: int = 3_600_000
    image_tag: str = "0.1.0"
    namespace: str = "fraud"
    release_name: str = "lfd"
    kubeconfig: str = ""  # target "cluster": a path or the kubeconfig itself
    kafka_bootstrap: str = ""  # target "cluster": the job's brokers (aws: MSK's IAM bootstrap)
    prometheus_url: str = "http://prometheus-server.monitoring.svc.cluster.local"
    fraud_models: tuple[Mapping[str, Any], ...] = field(default_factory=tuple)
    streaming: bool | None = None  # None: on for "aws" (MSK exists), off for "cluster"
    mlflow: bool | None = None  # None: on for "aws" (S3 exists), off for "cluster"
    network_policies: bool = True

    @property
    def name(self) -> str:
        """Prefix of every cloud resource name: lfd-<environment>."""
        return f"lfd-{self.environment}"

    @property
    def zones(self) -> tuple[str, ...]:
        return self.availability_zones or tuple(f"{self.region}{s}" for s in "abc")

    @property
    def streaming_enabled(self) -> bool:
        return self.target == "aws" if self.streaming is None else self.streaming

    @property
    def mlflow_enabled(self) -> bool:
        return self.target == "aws" if self.mlflow is None else self.mlflow


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


DEFAULTS: Final = Settings()


def _coerce(key: str, default: Any, raw: Any) -> Any:
    """A raw config value (pulumi config holds strings, or JSON for objects) as the default's type."""
    if isinstance(raw, str) and not isinstance(default, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as e:
            raise ConfigError(key, f"not valid JSON ({e.msg})") from e
    if isinstance(default, bool) or (default is None and key in {"streaming", "mlflow"}):
        if not isinstance(raw, bool):
            raise ConfigError(key, "must be true or false")
        return raw
    if isinstance(default, int):
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise ConfigError(key, "must be an integer")
        return raw
    if isinstance(default, tuple):
        if not isinstance(raw, list):
            raise ConfigError(key, "must be a list")
        return tuple(raw)
    if not isinstance(raw, str):
        raise ConfigError(key, "must be a string")
    return raw


def _validate(s: Settings) -> None:
    if s.target not in ("aws", "cluster"):
        raise ConfigError("target", "must be aws or cluster")
    if not s.environment.isalnum() or not s.environment.islower() or len(s.environment) > 12:
        raise ConfigError("environment", "must be 1-12 lower-case letters or digits (it prefixes every name)")
    if len(set(s.zones)) != 3:
        raise ConfigError("availabilityZones", "must name exactly 3 distinct zones (brokers and nodes span 3 AZs)")
    try:
        net = ipaddress.ip_network(s.vpc_cidr)
    except ValueError as e:
        raise ConfigError("vpcCidr", f"not a CIDR ({e})") from e
    if net.prefixlen > 16:
        raise ConfigError("vpcCidr", "must be a /16 or larger (9 subnets are carved from it)")
    if s.node_count < 2 or s.node_max_count < s.node_count:
        raise ConfigError("nodeCount", "must be >= 2 and <= nodeMaxCount (PodDisruptionBudgets need 2 nodes)")
    if s.kafka_transaction_max_timeout_ms < JOB_TRANSACTION_TIMEOUT_MS:
        raise ConfigError(
            "kafkaTransactionMaxTimeoutMs",
            f"must be >= {JOB_TRANSACTION_TIMEOUT_MS} (the streaming job's transaction timeout)",
        )
    if s.target == "aws" and s.cluster_public_endpoint:
        if not s.public_access_cidrs:
            raise ConfigError("publicAccessCidrs", "required with clusterPublicEndpoint: the CIDRs allowed to the API")
        if any(ipaddress.ip_network(c).prefixlen == 0 for c in s.public_access_cidrs):
            raise ConfigError("publicAccessCidrs", "must not contain 0.0.0.0/0 (the API would be open to the world)")
    if s.target == "cluster" and not s.kubeconfig:
        raise ConfigError("kubeconfig", "required with target cluster (a kubeconfig path or its content)")
    for i, model in enumerate(s.fraud_models):
        if not isinstance(model, Mapping) or "name" not in model or "model" not in model:
            raise ConfigError(f"fraudModels[{i}]", "must be an object with name and model")


def parse(raw: Mapping[str, Any]) -> Settings:
    """Settings from config keys in camelCase (``target``, ``vpcCidr``, ...); unknown keys are refused."""
    known = {camel(f.name): f for f in fields(Settings)}
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise ConfigError(unknown[0], f"unknown key (known: {', '.join(sorted(known))})")
    values = {known[k].name: _coerce(k, getattr(DEFAULTS, known[k].name), v) for k, v in raw.items()}
    settings = Settings(**values)
    _validate(settings)
    return settings


def documented_defaults() -> dict[str, Any]:
    """The defaults as Pulumi.yaml documents them (camelCase keys, JSON-able values)."""
    out: dict[str, Any] = {}
    for f in fields(Settings):
        value = getattr(DEFAULTS, f.name)
        out[camel(f.name)] = list(value) if isinstance(value, tuple) else value
    return out
