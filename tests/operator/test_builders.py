"""Pure builders and parsers on plain dicts: what the operator sends to, and reads from, the API server."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from fraud_operator.analysis import quality, slo, smoke
from fraud_operator.builders import (
    BuildContext,
    build_deployment,
    build_hpa,
    build_preview_service,
    build_stable_service,
    template_hash,
)
from fraud_operator.cli import config_from_args
from fraud_operator.config import OperatorConfig
from fraud_operator.kubectl_plugin import PluginError, format_history, previous_stable_revision
from fraud_operator.observed import parse_observed
from fraud_operator.reconcile import requests_from, with_analyses
from fraud_operator.spec import AnalysisRun, FraudModelStatus, parse_spec
from lfd import response

SPEC = parse_spec({"model": {"version": "3"}, "threshold": 0.4})


@pytest.mark.unit
def test_deployment_passes_the_pinned_model_as_args_to_the_image_entry_point() -> None:
    dep = build_deployment("fd", "green", SPEC, 2, 3, BuildContext(mlflow_tracking_uri="http://mlflow:5000"))
    container = dep["spec"]["template"]["spec"]["containers"][0]
    assert dep["metadata"]["name"] == "fd-green" and dep["spec"]["replicas"] == 3
    assert "command" not in container  # the image's ENTRYPOINT runs; args are appended to it
    assert container["args"] == [
        "--model-uri",
        "models:/fraud-detector/3",
        "--http-port",
        "3000",
        "--grpc-port",
        "8001",
    ]
    assert {"name": "LFD_SCORING_THRESHOLD", "value": "0.4"} in container["env"]
    assert {"name": "MLFLOW_TRACKING_URI", "value": "http://mlflow:5000"} in container["env"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
    assert container["securityContext"] == {
        "runAsNonRoot": True,
        "readOnlyRootFilesystem": True,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
    }
    assert container["volumeMounts"] == [{"name": "tmp", "mountPath": "/tmp"}]  # the only writable path
    # drain before SIGTERM while kube-proxy drops the endpoint, well within the grace period
    assert container["lifecycle"] == {"preStop": {"sleep": {"seconds": 5}}}
    assert dep["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > 5
    assert dep["spec"]["selector"]["matchLabels"] == {
        "ml.livefraud.io/fraudmodel": "fd",
        "ml.livefraud.io/colour": "green",
    }
    assert dep["metadata"]["annotations"]["ml.livefraud.io/revision"] == "2"
    assert container["resources"] == {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"memory": "2Gi"}}


@pytest.mark.unit
def test_hpa_managed_deployment_leaves_replicas_alone_and_paths_use_model_dir() -> None:
    spec = parse_spec({"model": {"uri": "/models/bundle"}})
    dep = build_deployment("fd", "blue", spec, 1, None, BuildContext())
    assert "replicas" not in dep["spec"]
    assert dep["spec"]["template"]["spec"]["containers"][0]["args"][0:2] == ["--model-dir", "/models/bundle"]


@pytest.mark.unit
def test_services_select_one_colour_and_hpa_targets_it() -> None:
    assert build_stable_service("fd", "blue", SPEC)["spec"]["selector"]["ml.livefraud.io/colour"] == "blue"
    preview = build_preview_service("fd", "green", SPEC)
    assert preview["metadata"]["name"] == "fd-preview"
    assert preview["spec"]["selector"]["ml.livefraud.io/colour"] == "green"
    hpa = build_hpa("fd", "green", SPEC)
    assert hpa["spec"]["scaleTargetRef"]["name"] == "fd-green"
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 20)


@pytest.mark.unit
def test_template_hash_changes_with_what_changes_scores_only() -> None:
    resources = parse_spec({"model": {"version": "3"}, "threshold": 0.4, "resources": {"requests": {"cpu": "2"}}})
    assert template_hash(resources) == template_hash(SPEC)
    assert template_hash(parse_spec({"model": {"version": "3"}})) != template_hash(SPEC)
    assert template_hash(parse_spec({"model": {"version": "4"}, "threshold": 0.4})) != template_hash(SPEC)


def _pod_slice(service: str, pods: list[tuple[str, bool]]) -> dict[str, Any]:
    return {
        "metadata": {"labels": {"kubernetes.io/service-name": service}},
        "endpoints": [{"targetRef": {"name": p}, "conditions": {"ready": r}} for p, r in pods],
    }


@pytest.mark.unit
def test_observed_counts_ready_endpoints_per_colour_once() -> None:
    dep = build_deployment("fd", "blue", SPEC, 1, 2, BuildContext())
    dep["metadata"]["generation"] = 2
    dep["status"] = {"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "readyReplicas": 2}
    slices = [
        _pod_slice("fd", [("fd-blue-abc-1", True), ("fd-blue-abc-2", False)]),
        _pod_slice("fd-preview", [("fd-blue-abc-1", True), ("fd-green-x-1", True)]),
    ]
    observed = parse_observed(
        "fd",
        [dep],
        [build_stable_service("fd", "blue", SPEC), build_preview_service("fd", "green", SPEC)],
        slices,
        None,
    )
    assert observed.colours["blue"].ready_endpoints == 1
    assert observed.colours["blue"].ready_for(template_hash(SPEC), 2)
    assert not observed.colours["green"].exists
    assert (observed.stable_selects, observed.preview_selects, observed.hpa_target) == ("blue", "green", None)


# Results as the service builds them (lfd.response), then broken one field at a time.
_OK = response.build_result("a", 0.2, 0.5, {"name": "fraud-detector", "version": "1"}, [])


@pytest.mark.unit
@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({}, None),
        ({"fraud_probability": 1.2}, "fraud_probability must be a number in [0, 1]"),
        ({"decision": "maybe"}, "decision must be one of"),
        ({"model": None}, "model must be an object"),
        ({"id": "b"}, "result id"),
    ],
)
def test_smoke_checks_every_result(change: dict[str, Any], problem: str | None) -> None:
    found = smoke.check_results([{"id": "a"}], response.build_response([{**_OK, **change}]))  # type: ignore[typeddict-item]
    assert (found is None) if problem is None else (problem in str(found))
    assert "expected 1 results" in str(smoke.check_results([{"id": "a"}], response.build_response([])))


@pytest.mark.unit
def test_quality_judges_pr_auc_against_the_champion_with_tolerance() -> None:
    labels = np.array([1, 1, 0, 0, 0, 0], dtype=np.int8)
    replay = quality.ReplaySet([{}] * 6, labels, np.array([1, 1, 8, 8, 8, 8.0]))
    perfect = quality.Scores(np.array([0.9, 0.8, 0.1, 0.1, 0.2, 0.1]), np.array([1, 1, 0, 0, 0, 0], dtype=bool))
    random = quality.Scores(np.array([0.1, 0.2, 0.9, 0.8, 0.3, 0.1]), np.zeros(6, dtype=bool))
    assert quality.judge(replay, perfect, perfect, 0.05, 0.0, 0.5).passed
    assert "below the champion" in quality.judge(replay, random, perfect, 0.05, 0.0, 0.5).message
    assert "alert rate out of bounds" in quality.judge(replay, perfect, perfect, 0.05, 0.0, 0.01).message


@pytest.mark.unit
def test_slo_verdicts_and_queries() -> None:
    assert slo.judge(100, 0, 0.05, 0.01, 0.25, 10).result == "Passed"
    assert slo.judge(100, 5, 0.05, 0.01, 0.25, 10).message.endswith("error rate too high")
    assert slo.judge(100, 0, 0.40, 0.01, 0.25, 10).message.endswith("p99 latency too high")
    assert slo.judge(3, 0, 0.05, 0.01, 0.25, 10).result == "Inconclusive"
    q = slo.queries("fraud", "fd", "green", 30)
    assert 'colour="green"' in q["p99"] and "[30s]" in q["errors"] and 'status=~"5..' in q["errors"]


@pytest.mark.unit
def test_requests_and_analysis_history() -> None:
    assert requests_from({"ml.livefraud.io/rollback": "3", "ml.livefraud.io/promote": "true"}).rollback == "3"
    assert not requests_from({}).abort
    run = AnalysisRun(kind="pre", template_hash="h", result="Failed", message="old")
    newer = AnalysisRun(kind="pre", template_hash="h", result="Passed", message="new")
    status = with_analyses(FraudModelStatus(analysis=[run]), [newer])
    assert [r.message for r in status.analysis] == ["new"]


@pytest.mark.unit
def test_plugin_rolls_back_to_the_previous_stable_revision() -> None:
    status = {
        "activeRevision": 3,
        "revisions": [
            {"revision": 1, "outcome": "Stable", "model": {"version": "1"}},
            {"revision": 2, "outcome": "Failed", "model": {"version": "2"}},
            {"revision": 3, "outcome": "Stable", "model": {"version": "3"}},
        ],
    }
    assert previous_stable_revision(status) == 1
    with pytest.raises(PluginError, match="no earlier stable revision"):
        previous_stable_revision({"activeRevision": 1, "revisions": status["revisions"][:1]})
    table = format_history({"status": status})
    assert "(active)" in table.splitlines()[3]


@pytest.mark.unit
def test_operator_settings_come_from_flags_over_the_environment() -> None:
    import argparse

    from fraud_operator.cli import register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["operator", "run", "--interval", "1", "--prometheus-url", "http://p"])
    env = {"LFD_OPERATOR_INTERVAL": "5", "LFD_OPERATOR_METRICS_PORT": "0", "LFD_OPERATOR_PROMETHEUS_URL": "http://e"}
    config = config_from_args(args, env)
    assert (config.interval, config.metrics_port, config.prometheus_url) == (1.0, 0, "http://p")
    assert config_from_args(args, {}).metrics_port == OperatorConfig().metrics_port


@pytest.mark.unit
def test_scheduling_reaches_both_colours_pod_templates_without_a_new_revision() -> None:
    placed = parse_spec(
        {
            "model": {"version": "3"},
            "threshold": 0.4,
            "scheduling": {
                "nodeSelector": {"lfd.dev/node": "real"},
                "tolerations": [{"key": "lfd.dev/real-node", "operator": "Exists", "effect": "NoSchedule"}],
            },
        }
    )
    for colour in ("blue", "green"):
        pod = build_deployment("fd", colour, placed, 1, 1, BuildContext())["spec"]["template"]["spec"]
        assert pod["nodeSelector"] == {"lfd.dev/node": "real"}
        assert pod["tolerations"] == [{"key": "lfd.dev/real-node", "operator": "Exists", "effect": "NoSchedule"}]
    # Unset: explicit empties, so a merge patch of a live Deployment removes a dropped selector or toleration.
    pod = build_deployment("fd", "blue", SPEC, 1, 1, BuildContext())["spec"]["template"]["spec"]
    assert pod["nodeSelector"] is None and pod["tolerations"] == []
    assert template_hash(placed) == template_hash(SPEC)  # where pods run does not change their scores


@pytest.mark.unit
def test_a_toleration_exists_takes_no_value() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="operator Exists takes no value"):
        parse_spec({"model": {"version": "1"}, "scheduling": {"tolerations": [{"operator": "Exists", "value": "x"}]}})


@pytest.mark.unit
def test_gates_reach_services_by_dns_name_or_by_the_cluster_ip_read_from_the_api() -> None:
    from fraud_operator.analysis import Unreachable
    from fraud_operator.analysis.resolver import ServiceClusterIP, ServiceDNS, make_resolver

    assert (
        make_resolver(None).url("ns", "fd-preview", "fd-green", 3000) == "http://fd-preview.ns.svc.cluster.local:3000"
    )
    assert isinstance(make_resolver(None, "dns"), ServiceDNS)
    ips = {("ns", "fd-preview"): "10.96.4.2", ("ns", "headless"): "None"}
    resolver = make_resolver(None, "cluster-ip", lambda ns, svc: ips.get((ns, svc)))
    assert isinstance(resolver, ServiceClusterIP)
    assert resolver.url("ns", "fd-preview", "fd-green", 3000) == "http://10.96.4.2:3000"
    for missing in ("fd", "headless"):
        with pytest.raises(Unreachable, match="has no ClusterIP"):
            resolver.url("ns", missing, "fd-blue", 3000)
    with pytest.raises(ValueError, match="needs a ClusterIP lookup"):
        make_resolver(None, "cluster-ip")
    with pytest.raises(ValueError, match="must be one of dns, cluster-ip"):
        make_resolver(None, "mdns")


@pytest.mark.unit
def test_the_service_address_mode_is_a_flag_or_an_environment_variable() -> None:
    import argparse

    from fraud_operator.cli import register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    assert config_from_args(parser.parse_args(["operator", "run"]), {}).service_address == "dns"
    env = {"LFD_OPERATOR_SERVICE_ADDRESS": "cluster-ip"}
    assert config_from_args(parser.parse_args(["operator", "run"]), env).service_address == "cluster-ip"
    args = parser.parse_args(["operator", "run", "--service-address", "dns"])
    assert config_from_args(args, env).service_address == "dns"
    with pytest.raises(SystemExit):
        parser.parse_args(["operator", "run", "--service-address", "mdns"])
