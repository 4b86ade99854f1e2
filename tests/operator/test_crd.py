"""The CRD and the pydantic models agree: same fields, same defaults, descriptions everywhere."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from fraud_operator import crd
from fraud_operator.spec import FraudModelSpec, FraudModelStatus, dump, parse_spec

CHART_CRD = Path(__file__).resolve().parents[2] / "charts" / "live-fraud-detector" / "crds" / "fraudmodel.yaml"


def _schema() -> dict[str, Any]:
    doc = yaml.safe_load(CHART_CRD.read_text())
    schema: dict[str, Any] = doc["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return schema


def _apply_defaults(schema: dict[str, Any], value: Any) -> Any:
    """What the API server's structural defaulting does to ``value``."""
    if schema.get("type") != "object" or not isinstance(value, dict):
        return value
    out = dict(value)
    for key, sub in schema.get("properties", {}).items():
        if key not in out and "default" in sub:
            out[key] = sub["default"]
        if key in out:
            out[key] = _apply_defaults(sub, out[key])
    return out


def _walk(schema: dict[str, Any], path: str = "") -> list[tuple[str, dict[str, Any]]]:
    found = [(path, schema)]
    for key, sub in schema.get("properties", {}).items():
        found += _walk(sub, f"{path}.{key}")
    if "items" in schema:
        found += _walk(schema["items"], f"{path}[]")
    return found


@pytest.mark.unit
def test_committed_crd_is_generated_from_the_models() -> None:
    assert CHART_CRD.read_text() == crd.render(), "run: python -m fraud_operator.crd > " + str(CHART_CRD)


@pytest.mark.unit
def test_every_spec_and_status_field_has_a_description() -> None:
    root = _schema()["properties"]
    undocumented = [
        p for p, s in _walk(root["spec"], "spec") + _walk(root["status"], "status") if not s.get("description")
    ]
    assert undocumented == []


@pytest.mark.unit
@pytest.mark.parametrize(
    "minimal",
    [
        {"model": {"version": "3"}},
        {"model": {"alias": "champion"}, "autoscaling": {"enabled": False}, "rollout": {"autoPromotion": False}},
        {"model": {"uri": "runs:/abc/model"}, "rollout": {"prePromotionAnalysis": {"quality": {"tolerance": 0.1}}}},
    ],
)
def test_api_server_defaults_equal_pydantic_defaults(minimal: dict[str, Any]) -> None:
    defaulted_by_crd = _apply_defaults(_schema()["properties"]["spec"], minimal)
    assert defaulted_by_crd == dump(parse_spec(minimal))


@pytest.mark.unit
def test_fields_agree_with_the_models() -> None:
    spec_props = _schema()["properties"]["spec"]["properties"]
    status_props = _schema()["properties"]["status"]["properties"]
    assert set(spec_props) == {f.alias or n for n, f in FraudModelSpec.model_fields.items()}
    assert set(status_props) == {f.alias or n for n, f in FraudModelStatus.model_fields.items()}
    assert _schema()["properties"]["spec"]["required"] == ["model"]


@pytest.mark.unit
def test_cross_field_rules_exist_as_cel_and_as_validators() -> None:
    spec = _schema()["properties"]["spec"]
    rules = [r["rule"] for _, s in _walk(spec) for r in s.get("x-kubernetes-validations", [])]
    assert "self.minReplicas <= self.maxReplicas" in rules
    with pytest.raises(ValueError, match="minReplicas must be <= maxReplicas"):
        parse_spec({"model": {"version": "1"}, "autoscaling": {"minReplicas": 5, "maxReplicas": 2}})
    with pytest.raises(ValueError, match="exactly one of version, alias or uri"):
        parse_spec({"model": {"version": "1", "alias": "champion"}})
    assert spec["properties"]["rollout"]["properties"]["strategy"]["enum"] == ["BlueGreen"]


@pytest.mark.unit
def test_printer_columns_show_version_colour_phase_age() -> None:
    doc = yaml.safe_load(CHART_CRD.read_text())
    names = [c["name"] for c in doc["spec"]["versions"][0]["additionalPrinterColumns"] if not c.get("priority")]
    assert names == ["Active Version", "Colour", "Revision", "Phase", "Age"]
