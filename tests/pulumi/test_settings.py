"""Stack configuration: Pulumi.yaml documents exactly the defaults the program uses, the example stack
file is valid, and a typo or an unsafe value fails with the key and the rule."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from lfd_cloud.settings import ConfigError, documented_defaults, parse

pytestmark = pytest.mark.unit

PULUMI = Path(__file__).resolve().parents[2] / "pulumi"


def _project_config() -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load((PULUMI / "Pulumi.yaml").read_text())["config"]
    return config


def test_pulumi_yaml_documents_every_key_with_the_programs_default() -> None:
    documented = _project_config()
    defaults = documented_defaults()
    assert set(documented) == {f"lfd:{k}" for k in defaults}
    for key, default in defaults.items():
        entry = documented[f"lfd:{key}"]
        assert entry.get("description"), f"lfd:{key} has no description"
        if default is None:
            assert "default" not in entry, f"lfd:{key} defaults by target; Pulumi.yaml must not fix it"
        else:
            assert entry["default"] == default, f"lfd:{key}: Pulumi.yaml says {entry['default']!r}, code {default!r}"


def _as_pulumi_config(values: dict[str, Any]) -> dict[str, str]:
    """What `pulumi.Config.get` returns: strings as they are, everything else as JSON."""
    return {
        k.removeprefix("lfd:"): v if isinstance(v, str) else json.dumps(v)
        for k, v in values.items()
        if k.startswith("lfd:")
    }


def test_the_example_stack_is_valid() -> None:
    example = yaml.safe_load((PULUMI / "Pulumi.dev.yaml").read_text())["config"]
    settings = parse(_as_pulumi_config(example))
    assert settings.region == example["aws:region"] == "eu-west-1"
    assert settings.zones == ("eu-west-1a", "eu-west-1b", "eu-west-1c")
    assert settings.fraud_models[0]["name"] == "fraud-detector"
    assert settings.nat_gateway_per_az is False


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"vpcCidrr": "10.0.0.0/16"}, "lfd:vpcCidrr: unknown key"),
        ({"target": "gcp"}, "lfd:target: must be aws or cluster"),
        ({"publicAccessCidrs": "[]"}, "lfd:publicAccessCidrs: required with clusterPublicEndpoint"),
        ({"publicAccessCidrs": '["0.0.0.0/0"]'}, "lfd:publicAccessCidrs: must not contain 0.0.0.0/0"),
        (
            {"kafkaTransactionMaxTimeoutMs": "60000", "clusterPublicEndpoint": "false"},
            "lfd:kafkaTransactionMaxTimeoutMs: must be >= 900000",
        ),
        ({"nodeCount": "1", "clusterPublicEndpoint": "false"}, "lfd:nodeCount: must be >= 2"),
        ({"availabilityZones": '["a", "b"]', "clusterPublicEndpoint": "false"}, "lfd:availabilityZones: must name"),
        ({"nodeCount": "three", "clusterPublicEndpoint": "false"}, "lfd:nodeCount: not valid JSON"),
        ({"target": "cluster"}, "lfd:kubeconfig: required with target cluster"),
        (
            {"target": "cluster", "kubeconfig": "k", "fraudModels": '[{"name": "x"}]'},
            "lfd:fraudModels[0]: must be an object with name and model",
        ),
    ],
)
def test_a_bad_value_names_the_key_and_the_rule(raw: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(raw)
    assert str(caught.value).startswith(message)


def test_target_cluster_defaults_streaming_and_mlflow_off() -> None:
    settings = parse({"target": "cluster", "kubeconfig": "/k"})
    assert (settings.streaming_enabled, settings.mlflow_enabled) == (False, False)
    aws = parse({"clusterPublicEndpoint": "false"})
    assert (aws.streaming_enabled, aws.mlflow_enabled) == (True, True)
