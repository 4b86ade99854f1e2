"""The operator's rendered scoring container against the scoring image's entry point (pure: no image needed).

Kubernetes runs ``ENTRYPOINT + args`` when a container sets only ``args``. These tests parse the Dockerfile's
ENTRYPOINT, append the builder's args and run them through the entry point's own parser, and read the builder's
environment with the service's own configuration reader: both halves of the pod/image contract in one place.
The same spec is started as a real container on the local node in ``tests/node``.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import pytest

from fraud_operator.builders import COLOUR_ENV, THRESHOLD_ENV, BuildContext, build_deployment
from fraud_operator.spec import parse_spec
from scoring.cli import register
from scoring.config import ScoringConfig

pytestmark = pytest.mark.unit

DOCKERFILE = Path(__file__).resolve().parents[2] / "services" / "scoring" / "Dockerfile"


def image_entrypoint() -> list[str]:
    match = re.search(r"^ENTRYPOINT\s+(\[.*\])\s*$", DOCKERFILE.read_text(), re.MULTILINE)
    assert match, f"no exec-form ENTRYPOINT in {DOCKERFILE}"
    entrypoint: list[str] = json.loads(match.group(1))
    return entrypoint


def container_of(spec_body: dict[str, object]) -> dict[str, object]:
    dep = build_deployment("fd", "blue", parse_spec(spec_body), 1, 1, BuildContext("http://10.233.0.1:5000"))
    container: dict[str, object] = dep["spec"]["template"]["spec"]["containers"][0]
    return container


def entry_point_parser() -> argparse.ArgumentParser:
    """The parser ``python -m scoring`` runs (``lfd.area_entry.run`` with ``serve`` implied)."""
    parser = argparse.ArgumentParser(prog="python -m scoring")
    register(parser.add_subparsers(dest="command", required=True))
    return parser


def parsed_argv(container: dict[str, object]) -> argparse.Namespace:
    entrypoint = image_entrypoint()
    assert entrypoint[:3] == ["python", "-m", "scoring"], entrypoint
    args = container["args"]
    assert isinstance(args, list)
    return entry_point_parser().parse_args(["serve", *entrypoint[3:], *args])


def test_the_image_entry_point_accepts_the_operators_args() -> None:
    container = container_of({"model": {"version": "3"}, "httpPort": 3100, "grpcPort": 8101})
    assert "command" not in container
    args = parsed_argv(container)
    assert (args.model_uri, args.http_port, args.grpc_port, args.host) == (
        "models:/fraud-detector/3",
        3100,
        8101,
        "0.0.0.0",
    )


def test_a_baked_bundle_path_becomes_model_dir() -> None:
    args = parsed_argv(container_of({"model": {"uri": "/opt/model"}}))
    assert (args.model_dir, args.model_uri) == ("/opt/model", None)


def test_spec_threshold_reaches_the_services_configuration() -> None:
    container = container_of({"model": {"version": "3"}, "threshold": 0.37})
    env = {e["name"]: e["value"] for e in container["env"]}  # type: ignore[attr-defined]
    assert THRESHOLD_ENV in env
    config = ScoringConfig.from_env(env)
    assert config.threshold == 0.37 and config.tracking_uri == "http://10.233.0.1:5000"


def test_without_spec_threshold_the_model_keeps_its_own() -> None:
    container = container_of({"model": {"version": "3"}})
    env = {e["name"]: e["value"] for e in container["env"]}  # type: ignore[attr-defined]
    assert ScoringConfig.from_env(env).threshold < 0


def test_each_colour_reports_itself_through_the_services_configuration() -> None:
    """The service puts ``config.colour`` in OIP responses' parameters: the operator must tell each pod its colour."""
    for colour in ("blue", "green"):
        dep = build_deployment("fd", colour, parse_spec({"model": {"version": "3"}}), 1, 1, BuildContext())
        env = {e["name"]: e["value"] for e in dep["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert env[COLOUR_ENV] == colour
        assert ScoringConfig.from_env(env).colour == colour


def test_scoring_pods_run_as_the_configured_service_account() -> None:
    spec = parse_spec({"model": {"version": "3"}})
    with_sa = build_deployment("fd", "blue", spec, 1, 1, BuildContext(service_account="fraud-scoring"))
    assert with_sa["spec"]["template"]["spec"]["serviceAccountName"] == "fraud-scoring"
    without = build_deployment("fd", "blue", spec, 1, 1, BuildContext())
    assert "serviceAccountName" not in without["spec"]["template"]["spec"]
