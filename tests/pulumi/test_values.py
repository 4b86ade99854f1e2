"""The Helm values the program hands the release, captured from the mocked program, pass the chart's
values.schema.json under the real `helm template`; a typo in them fails naming the field."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from lfd_cloud.settings import parse
from lfd_dev.settings import Settings
from tests.chart.helmtool import template_values
from tests.pulumi.mocks import run_mocked

pytestmark = pytest.mark.unit

MODELS = '[{"name": "fraud-detector", "model": {"name": "fraud-detector", "version": "3"}}]'


def _release_values(raw: dict[str, str]) -> dict[str, Any]:
    stack = run_mocked(parse(raw))
    (release,) = stack.of("kubernetes:helm.sh/v3:Release")
    values: dict[str, Any] = release.inputs["values"]
    return values


@pytest.fixture(scope="module")
def aws_values() -> dict[str, Any]:
    return _release_values({"publicAccessCidrs": '["203.0.113.0/24"]', "fraudModels": MODELS})


def test_aws_values_render_under_the_schema(stack_settings: Settings, aws_values: dict[str, Any]) -> None:
    assert aws_values["streaming"]["kafka"]["bootstrap"].endswith(":9098")  # MSK's SASL/IAM listener
    assert aws_values["mlflow"]["artifactsDestination"].startswith("s3://lfd-dev-artifacts-")
    result = template_values(stack_settings, aws_values)
    assert result.returncode == 0, result.stderr
    docs = [d for d in yaml.safe_load_all(result.stdout) if d]
    images = {
        c["image"] for d in docs if d["kind"] == "Deployment" for c in d["spec"]["template"]["spec"]["containers"]
    }
    assert "123456789012.dkr.ecr.us-east-1.amazonaws.com/lfd-dev/operator:0.1.0" in images
    accounts = {
        d["metadata"]["name"]: d["metadata"].get("annotations", {}) for d in docs if d["kind"] == "ServiceAccount"
    }
    assert accounts["fraud-operator"]["eks.amazonaws.com/role-arn"].endswith(":role/lfd-dev-operator")
    assert accounts["mlflow"]["eks.amazonaws.com/role-arn"].endswith(":role/lfd-dev-mlflow")


def test_cluster_target_values_render_under_the_schema(stack_settings: Settings) -> None:
    values = _release_values({"target": "cluster", "kubeconfig": "/dev/null", "fraudModels": MODELS})
    assert values["streaming"] == {"enabled": False} and values["mlflow"] == {"enabled": False}
    result = template_values(stack_settings, values)
    assert result.returncode == 0, result.stderr


def test_a_typo_in_the_programs_values_fails_naming_the_field(
    stack_settings: Settings, aws_values: dict[str, Any]
) -> None:
    broken = {**aws_values, "operator": {**aws_values["operator"], "prometheusURL": "http://x"}}
    result = template_values(stack_settings, broken)
    assert result.returncode != 0
    assert "additional properties 'prometheusURL' not allowed" in result.stderr
