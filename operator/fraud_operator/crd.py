"""Generate the FraudModel CustomResourceDefinition from the pydantic models in ``spec.py``.

One source of truth: descriptions, defaults, bounds and enums come from the models; the cross-field rules
are CEL ``x-kubernetes-validations`` listed next to the model they guard. Regenerate the chart file with::

    python -m fraud_operator.crd > charts/live-fraud-detector/crds/fraudmodel.yaml

``tests/operator/test_crd.py`` fails when the committed file and the models disagree.
"""

from __future__ import annotations

import sys
import types
import typing
from typing import Any

import yaml
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from fraud_operator import spec as api

#: Cross-field rules the API server enforces (the pydantic validators say the same in Python).
CEL_RULES: dict[type[BaseModel], list[dict[str, str]]] = {
    api.ModelRef: [
        {
            "rule": "(has(self.version) ? 1 : 0) + (has(self.alias) ? 1 : 0) + (has(self.uri) ? 1 : 0) == 1",
            "message": "set exactly one of version, alias or uri",
        }
    ],
    api.Autoscaling: [
        {
            "rule": "self.minReplicas <= self.maxReplicas",
            "message": "minReplicas must be <= maxReplicas",
            "fieldPath": ".minReplicas",
        }
    ],
    api.QualityAnalysis: [
        {
            "rule": "self.minAlertRate <= self.maxAlertRate",
            "message": "minAlertRate must be <= maxAlertRate",
            "fieldPath": ".minAlertRate",
        }
    ],
    api.Toleration: [
        {
            "rule": "self.operator != 'Exists' || !has(self.value) || self.value == ''",
            "message": "operator Exists takes no value",
            "fieldPath": ".value",
        }
    ],
    api.FraudModelSpec: [
        {
            "rule": "self.httpPort != self.grpcPort",
            "message": "httpPort and grpcPort must differ",
            "fieldPath": ".grpcPort",
        }
    ],
}

#: The object's own name (only ``metadata.name``/``generateName`` are visible to CEL): see ``api.name_problem``.
NAME_RULE = {
    "rule": f"self.metadata.name.size() <= {api.NAME_MAX_LENGTH} && self.metadata.name.matches('{api.NAME_PATTERN}')",
    "message": f"metadata.name: must be {api.NAME_RULE}",
}

_SCALAR_KEYS = (
    "type",
    "enum",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "pattern",
    "maxProperties",
    "maxItems",
)


def _nested_model(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """(model class, is_list) for ``Model``, ``Model | None`` and ``list[Model]``; (None, False) otherwise."""
    origin = typing.get_origin(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    if origin is list:
        inner, _ = _nested_model(typing.get_args(annotation)[0])
        return inner, inner is not None
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            inner, is_list = _nested_model(arg)
            if inner is not None:
                return inner, is_list
    return None, False


def _scalar(field_schema: dict[str, Any]) -> dict[str, Any]:
    """Pydantic's JSON schema of a scalar → structural OpenAPI v3 (no anyOf/null/const/title)."""
    for option in field_schema.get("anyOf", []):
        if option.get("type") != "null":
            field_schema = {**option, **{k: v for k, v in field_schema.items() if k != "anyOf"}}
    out = {k: field_schema[k] for k in _SCALAR_KEYS if k in field_schema}
    for bound, flag in (("minimum", "exclusiveMinimum"), ("maximum", "exclusiveMaximum")):
        if flag in out:  # JSON Schema 2020 number → OpenAPI 3.0 boolean flag on the bound
            out[bound], out[flag] = out[flag], True
    if "const" in field_schema:
        out["enum"] = [field_schema["const"]]
    values = field_schema.get("additionalProperties")
    if field_schema.get("type") == "object" and isinstance(values, dict):  # dict[str, str]: a typed map
        out["additionalProperties"] = _scalar(values)
    elif field_schema.get("type") == "object":  # dict[str, Any]: kept as given
        out["x-kubernetes-preserve-unknown-fields"] = True
    return out


def object_schema(model: type[BaseModel], with_defaults: bool = True) -> dict[str, Any]:
    flat = model.model_json_schema(by_alias=True)
    properties: dict[str, Any] = {}
    required: list[str] = []
    for name, field in model.model_fields.items():
        alias = field.alias or name
        nested, is_list = _nested_model(field.annotation)
        if nested is not None:
            schema = object_schema(nested, with_defaults)
            if is_list:
                schema = {"type": "array", "items": schema}
                limit = flat["properties"][alias].get("maxItems")
                if limit is not None:
                    schema["maxItems"] = limit
        else:
            schema = _scalar(flat["properties"][alias])
        schema = {"description": field.description or "", **schema}
        if field.is_required():
            required.append(alias)
        elif with_defaults:
            default = field.default_factory() if field.default_factory else field.default  # type: ignore[call-arg]
            if isinstance(default, BaseModel):
                default = api.dump(default)
            if default is not None and default is not PydanticUndefined and default != []:
                schema["default"] = default
        properties[alias] = schema
    out: dict[str, Any] = {"type": "object", "properties": properties}
    doc = (model.__doc__ or "").strip()
    if doc and not doc.startswith("camelCase"):
        out = {"description": doc.splitlines()[0], **out}
    if required:
        out["required"] = required
    if model in CEL_RULES:
        out["x-kubernetes-validations"] = CEL_RULES[model]
    return out


PRINTER_COLUMNS = [
    {
        "name": "Active Version",
        "type": "string",
        "jsonPath": ".status.activeVersion",
        "description": "Model version served by the stable Service",
    },
    {"name": "Colour", "type": "string", "jsonPath": ".status.activeColour", "description": "Active colour"},
    {"name": "Revision", "type": "integer", "jsonPath": ".status.activeRevision", "description": "Active revision"},
    {"name": "Phase", "type": "string", "jsonPath": ".status.phase", "description": "Rollout phase"},
    {
        "name": "Step",
        "type": "string",
        "jsonPath": ".status.currentStep",
        "priority": 1,
        "description": "Blue-green step in progress",
    },
    {
        "name": "Preview",
        "type": "string",
        "jsonPath": ".status.previewColour",
        "priority": 1,
        "description": "Preview colour",
    },
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
]


def build_crd() -> dict[str, Any]:
    spec_schema = object_schema(api.FraudModelSpec)
    spec_schema["description"] = "Desired model and rollout policy."
    status_schema = object_schema(api.FraudModelStatus, with_defaults=False)
    status_schema["description"] = "Observed state, written only by the operator (like an Argo Rollout's status)."
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{api.PLURAL}.{api.GROUP}"},
        "spec": {
            "group": api.GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": api.KIND,
                "plural": api.PLURAL,
                "singular": api.SINGULAR,
                "shortNames": list(api.SHORT_NAMES),
                "listKind": f"{api.KIND}List",
                "categories": ["all"],
            },
            "versions": [
                {
                    "name": api.VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": PRINTER_COLUMNS,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "description": "A fraud-scoring model served on Kubernetes and rolled out blue-green with "
                            "quality and SLO gates.",
                            "required": ["spec"],
                            "properties": {
                                "apiVersion": {"type": "string", "description": "API version of this object."},
                                "kind": {"type": "string", "description": "FraudModel."},
                                "metadata": {"type": "object"},
                                "spec": spec_schema,
                                "status": status_schema,
                            },
                            "x-kubernetes-validations": [NAME_RULE],
                        }
                    },
                }
            ],
        },
    }


def render() -> str:
    header = "# Generated by `python -m fraud_operator.crd` from operator/fraud_operator/spec.py. Do not edit.\n"
    return header + yaml.safe_dump(build_crd(), sort_keys=False, width=120)


if __name__ == "__main__":
    sys.stdout.write(render())
