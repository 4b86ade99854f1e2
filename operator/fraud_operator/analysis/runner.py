"""Dispatch a RunAnalysis step to the smoke, quality and SLO checks, reaching services through a resolver."""

from __future__ import annotations

from fraud_operator.analysis import Unreachable, Verdict
from fraud_operator.analysis.quality import run_quality
from fraud_operator.analysis.readiness import run_readiness
from fraud_operator.analysis.resolver import ClusterIPLookup, Resolver, make_resolver
from fraud_operator.analysis.shadow import run_shadow, served_version
from fraud_operator.analysis.slo import run_slo
from fraud_operator.analysis.smoke import run_smoke
from fraud_operator.builders import deployment_name, preview_service_name
from fraud_operator.config import OperatorConfig
from fraud_operator.plan import RunAnalysis
from fraud_operator.spec import FraudModelSpec


class Runner:
    def __init__(
        self, config: OperatorConfig, resolver: Resolver | None = None, lookup: ClusterIPLookup | None = None
    ) -> None:
        self.config = config
        self.resolver = resolver or make_resolver(config.service_map or None, config.service_address, lookup)

    def __call__(self, namespace: str, name: str, spec: FraudModelSpec, step: RunAnalysis) -> Verdict:
        if step.kind == "ready":
            return self.ready(namespace, name, spec, step)
        return self.pre(namespace, name, spec, step) if step.kind == "pre" else self.post(namespace, name, spec, step)

    def ready(self, namespace: str, name: str, spec: FraudModelSpec, step: RunAnalysis) -> Verdict:
        """Past the progress deadline: the preview's own reason for not being ready."""
        try:
            url: str | None = self.resolver.url(
                namespace, preview_service_name(name), deployment_name(name, step.colour), spec.http_port
            )
            why = ""
        except Unreachable as e:
            url, why = None, str(e)
        return run_readiness(url, step.colour, spec.rollout.progress_deadline_seconds, why)

    def pre(self, namespace: str, name: str, spec: FraudModelSpec, step: RunAnalysis) -> Verdict:
        """Smoke first (cheap), then quality against the champion behind the stable Service, then (optional)
        the champion-vs-challenger comparison on live shadow traffic."""
        pre = spec.rollout.pre_promotion_analysis
        candidate = self.resolver.url(
            namespace, preview_service_name(name), deployment_name(name, step.colour), spec.http_port
        )
        messages: list[str] = []
        if pre.smoke.enabled:
            verdict = run_smoke(candidate, pre.smoke.max_latency_ms)
            if not verdict.passed:
                return verdict
            messages.append(verdict.message)
        if pre.quality.enabled:
            champion = self.resolver.url(namespace, name, deployment_name(name, step.stable_colour), spec.http_port)
            q = pre.quality
            verdict = run_quality(
                candidate,
                champion,
                self.config.replay_set,
                q.sample_size,
                q.tolerance,
                q.min_alert_rate,
                q.max_alert_rate,
            )
            if not verdict.passed:
                return verdict
            messages.append(verdict.message)
        if pre.shadow.enabled:
            # The versions the two colours report in their answers: the labels the job's records carry.
            champion = self.resolver.url(namespace, name, deployment_name(name, step.stable_colour), spec.http_port)
            s = pre.shadow
            verdict = run_shadow(
                self.config.prometheus_url,
                served_version(champion),
                served_version(candidate),
                s.min_transactions,
                s.max_alert_rate_ratio,
                s.min_agreement,
            )
            if not verdict.passed:
                return verdict
            messages.append(verdict.message)
        return Verdict("Passed", "; ".join(messages) or "no pre-promotion checks enabled")

    def post(self, namespace: str, name: str, spec: FraudModelSpec, step: RunAnalysis) -> Verdict:
        post = spec.rollout.post_promotion_analysis
        return run_slo(
            self.config.prometheus_url,
            namespace,
            name,
            step.colour,
            post.window_seconds,
            post.max_error_rate,
            post.max_p99_latency_seconds,
            post.min_requests,
        )
