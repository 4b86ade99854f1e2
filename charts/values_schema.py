"""Generate the chart's values.schema.json from values.yaml, its `# --` comments and the FraudModel CRD.

One source of truth per fact: keys, types and descriptions come from values.yaml (every key documented with
a `# --` comment), bounds and enums from ``CONSTRAINTS`` below, and the schema of a `fraudModels` item from
the CRD the operator's pydantic models generate (crds/fraudmodel.yaml), so a FraudModel typo fails at
`helm template` with the field's name. Every object gets ``additionalProperties: false``. Regenerate with::

    .venv/bin/python charts/values_schema.py > charts/live-fraud-detector/values.schema.json

``tests/chart/test_schema.py`` fails when the committed schema and this generator disagree.
"""

from __future__ import annotations

import copy
import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

CHART = Path(__file__).resolve().parent / "live-fraud-detector"

_STRING_MAP: dict[str, Any] = {"type": "object", "additionalProperties": {"type": "string"}}
_IMAGE_DIGEST: dict[str, Any] = {"pattern": "^(sha256:[a-f0-9]{64})?$"}

#: Constraints values.yaml cannot express, by dotted path ("*" matches any key at that level).
CONSTRAINTS: dict[str, dict[str, Any]] = {
    "imagePullSecrets": {"items": {"type": "string", "minLength": 1}},
    "*.image.digest": _IMAGE_DIGEST,
    "*.image.pullPolicy": {"enum": ["Always", "IfNotPresent", "Never"]},
    "*.serviceAccount.annotations": _STRING_MAP,
    "*.serviceAccount.name": {"pattern": "^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", "maxLength": 253},
    "metrics.*.labels": _STRING_MAP,
    "metrics.*.interval": {"pattern": "^[0-9]+(ms|s|m|h)$"},
    "operator.metricsPort": {"minimum": 1, "maximum": 65535},
    "operator.serviceAddress": {"enum": ["dns", "cluster-ip"]},
    "mlflow.port": {"minimum": 1, "maximum": 65535},
    "mlflow.persistence.size": {"pattern": "^[0-9]+(Mi|Gi|Ti)$"},
    "scoring.podDisruptionBudget.maxUnavailable": {"minimum": 0},
    "networkPolicy.apiServerCidrs": {"items": {"type": "string", "pattern": "^[0-9a-fA-F.:]+/[0-9]{1,3}$"}},
    "networkPolicy.apiServerPorts": {"items": {"type": "integer", "minimum": 1, "maximum": 65535}, "minItems": 1},
    "networkPolicy.prometheusPort": {"minimum": 1, "maximum": 65535},
    "networkPolicy.operatorExtraEgress": {"items": {"type": "object"}},
    "streaming.scoringPort": {"minimum": 1, "maximum": 65535},
    "streaming.metricsPort": {"minimum": 1, "maximum": 65535},
    "streaming.kafka.transactionTimeoutMs": {"minimum": 1000, "maximum": 3600000},
    "streaming.upgradeMode": {"enum": ["savepoint", "last-state", "stateless"]},
    "streaming.checkpointIntervalMs": {"minimum": 0},
    "streaming.parallelism": {"minimum": 1},
    "streaming.taskSlots": {"minimum": 1},
    "streaming.batchSize": {"minimum": 1},
    "streaming.maxInFlight": {"minimum": 1},
    "streaming.bundleTimeMs": {"minimum": 1},
    "streaming.jobManager.cpu": {"type": "number", "minimum": 0},
    "streaming.taskManager.cpu": {"type": "number", "minimum": 0},
    "streaming.flinkConfiguration": {
        "type": "object",
        "additionalProperties": {"type": ["string", "number", "boolean"]},
    },
    "streaming.env": {"items": {"type": "object", "required": ["name"]}},
    "drift.schedule": {"pattern": "^(@(hourly|daily|weekly|monthly|yearly)|(\\S+\\s+){4}\\S+)$"},
    "drift.window": {"minimum": 50},
    "drift.activeDeadlineSeconds": {"minimum": 60},
    "drift.kafkaPorts": {"items": {"type": "integer", "minimum": 1, "maximum": 65535}, "minItems": 1},
    "drift.extraEgress": {"items": {"type": "object"}},
    "monitor.metricsPort": {"minimum": 1, "maximum": 65535},
    "monitor.driftEvery": {"type": "number", "minimum": 10},
    "monitor.driftWindow": {"minimum": 50},
    "monitor.labelWindow": {"minimum": 50},
    "monitor.retrain.budget": {"type": "number", "minimum": 1},
    "monitor.retrain.cooldown": {"type": "number", "minimum": 0},
    "monitor.extraArgs": {"items": {"type": "string", "pattern": "^--"}},
    "monitor.volumes": {"items": {"type": "object", "required": ["name"]}},
    "monitor.volumeMounts": {"items": {"type": "object", "required": ["name", "mountPath"]}},
    "monitor.kafkaPorts": {"items": {"type": "integer", "minimum": 1, "maximum": 65535}, "minItems": 1},
    "monitor.extraEgress": {"items": {"type": "object"}},
    "metrics.grafanaDashboard.sidecarLabel": {"pattern": "^[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?$"},
    "operator.nodeSelector": _STRING_MAP,
    "operator.tolerations": {"items": {"type": "object"}},
    "tests.nodeSelector": _STRING_MAP,
    "tests.tolerations": {"items": {"type": "object"}},
    "tests.hostAliases": {
        "items": {
            "type": "object",
            "additionalProperties": False,
            "required": ["ip", "hostnames"],
            "properties": {
                "ip": {"type": "string", "pattern": "^[0-9a-fA-F.:]+$"},
                "hostnames": {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1},
            },
        }
    },
    # Kubernetes quantities: strings ("500m", "1Gi").
    "*.resources": {"$ref": "#/definitions/resources"},
}

DEFINITIONS: dict[str, Any] = {
    "resources": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            kind: {
                "type": "object",
                "additionalProperties": False,
                "properties": {"cpu": {"type": "string"}, "memory": {"type": "string"}},
            }
            for kind in ("requests", "limits")
        },
        "description": "Pod resources (requests and limits of cpu and memory).",
    }
}


def comments(values_text: str) -> dict[str, str]:
    """Dotted key path -> its `# --` description (continuation comment lines joined)."""
    out: dict[str, str] = {}
    stack: list[tuple[int, str]] = []
    pending: list[str] = []
    for line in values_text.splitlines():
        stripped = line.strip()
        if stripped.startswith("# --"):
            pending = [stripped[4:].strip()]
            continue
        if stripped.startswith("#"):
            if pending and not stripped.startswith("# -"):
                pending.append(stripped[1:].strip())
            continue
        match = re.match(r"^( *)([A-Za-z0-9_]+):", line)
        if not match:
            pending = []
            continue
        indent, key = len(match.group(1)), match.group(2)
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, key))
        if pending:
            out[".".join(k for _, k in stack)] = " ".join(pending)
        pending = []
    return out


def _matches(pattern: str, path: str) -> bool:
    parts, want = path.split("."), pattern.split(".")
    return len(parts) == len(want) and all(w in ("*", p) for w, p in zip(want, parts, strict=True))


def _constraint(path: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for pattern, extra in CONSTRAINTS.items():
        if _matches(pattern, path):
            found.update(copy.deepcopy(extra))
    return found


def _infer(value: Any, path: str, docs: dict[str, str]) -> dict[str, Any]:
    extra = _constraint(path)
    if "$ref" in extra:
        return extra
    schema: dict[str, Any]
    if isinstance(value, dict) and "additionalProperties" not in extra:
        schema = {
            "type": "object",
            "additionalProperties": False,
            "properties": {k: _infer(v, f"{path}.{k}".lstrip("."), docs) for k, v in value.items()},
        }
    elif isinstance(value, dict):
        schema = {}
    elif isinstance(value, bool):
        schema = {"type": "boolean"}
    elif isinstance(value, int):
        schema = {"type": "integer"}
    elif isinstance(value, float):
        schema = {"type": "number"}
    elif isinstance(value, list):
        schema = {"type": "array"}
    else:
        schema = {"type": "string"}
    schema.update(extra)
    if path in docs:
        schema["description"] = docs[path]
    return schema


def _strict(schema: dict[str, Any]) -> dict[str, Any]:
    """The CRD's structural schema as a JSON schema: unknown keys refused at every level, no defaults."""
    out = {k: v for k, v in schema.items() if not k.startswith("x-kubernetes") and k not in ("default", "nullable")}
    # OpenAPI v3.0 (the CRD) says `exclusiveMinimum: true` next to `minimum`; draft-07 wants the bound itself.
    for bound, exclusive in (("minimum", "exclusiveMinimum"), ("maximum", "exclusiveMaximum")):
        if out.get(exclusive) is True:
            out[exclusive] = out.pop(bound)
        elif out.get(exclusive) is False:
            del out[exclusive]
    if schema.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    if "properties" in out:
        out["properties"] = {k: _strict(v) for k, v in out["properties"].items()}
        out["additionalProperties"] = False
    if "items" in out:
        out["items"] = _strict(out["items"])
    return out


def fraudmodel_item() -> dict[str, Any]:
    crd = yaml.safe_load((CHART / "crds" / "fraudmodel.yaml").read_text())
    spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    item = _strict(spec)
    item["properties"] = {
        "name": {
            "type": "string",
            "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
            "maxLength": 63,
            "description": "FraudModel name (a DNS label).",
        },
        **item["properties"],
    }
    item["required"] = ["name", *item.get("required", [])]
    return item


def generate() -> dict[str, Any]:
    text = (CHART / "values.yaml").read_text()
    schema = _infer(yaml.safe_load(text), "", comments(text))
    schema["properties"]["fraudModels"]["items"] = fraudmodel_item()
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "live-fraud-detector chart values (generated by charts/values_schema.py)",
        **schema,
        "definitions": DEFINITIONS,
    }


def render() -> str:
    return json.dumps(generate(), indent=2) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
