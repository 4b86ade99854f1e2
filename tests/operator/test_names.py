"""A FraudModel's name must leave room for its children's names (Services are DNS-1035 labels of ≤ 63):
the pydantic side (``name_problem``, what the operator checks) and the CRD's root CEL rule agree."""

from __future__ import annotations

import pytest

from fraud_operator.crd import NAME_RULE, build_crd
from fraud_operator.spec import NAME_MAX_LENGTH, name_problem

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("name", "ok"),
    [("fm", True), ("fraud-detector", True), ("a", True), ("m" * 55, True), ("m" * 56, False), ("m" * 63, False),
     ("1model", False), ("fraud.detector", False), ("Fraud", False), ("fm-", False), ("-fm", False), ("", False)],
)  # fmt: skip
def test_name_problem(name: str, ok: bool) -> None:
    problem = name_problem(name)
    assert (problem is None) is ok, problem
    if problem:
        assert problem.startswith("metadata.name: ") and str(NAME_MAX_LENGTH) in problem


def test_the_longest_child_name_of_the_longest_name_is_a_dns_label() -> None:
    from fraud_operator.builders import deployment_name, preview_service_name

    longest = "m" * NAME_MAX_LENGTH
    assert max(len(preview_service_name(longest)), len(deployment_name(longest, "green"))) <= 63


def test_the_crd_carries_the_same_rule_at_its_root() -> None:
    schema = build_crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    assert NAME_RULE in schema["x-kubernetes-validations"]
    assert f"<= {NAME_MAX_LENGTH}" in NAME_RULE["rule"]
