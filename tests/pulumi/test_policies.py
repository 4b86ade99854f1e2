"""The AWS layer under mocks: every policy of the pack holds for the program, and each policy fires on a
resource broken the way it guards against (so no rule passes by never looking)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

import pytest

from lfd_cloud import documents
from lfd_cloud.policies import PACK, TAGGABLE, UNTAGGABLE, Stack, evaluate
from lfd_cloud.settings import Settings, parse
from tests.pulumi.mocks import ACCOUNT, ISSUER, mocked, run_mocked

pytestmark = pytest.mark.unit

AWS = parse({"publicAccessCidrs": '["203.0.113.0/24"]'})


@pytest.fixture(scope="module")
def stack() -> Stack:
    return run_mocked(AWS)


def test_the_program_passes_every_policy(stack: Stack) -> None:
    assert [str(v) for v in evaluate(stack)] == []
    assert len(PACK) == 11


def test_every_aws_type_is_classified_taggable_or_not(stack: Stack) -> None:
    cloud = {r.type for r in stack.resources if r.type.startswith(("aws:", "eks:"))}
    assert cloud - TAGGABLE - UNTAGGABLE == set(), "classify new types in lfd_cloud/policies.py"


def test_three_azs_private_tiers_and_no_public_ips(stack: Stack) -> None:
    subnets = stack.of("aws:ec2/subnet:Subnet")
    by_tier: dict[str, set[str]] = {}
    for s in subnets:
        by_tier.setdefault(s.inputs["tags"]["tier"], set()).add(s.inputs["availabilityZone"])
    assert by_tier == {t: {"us-east-1a", "us-east-1b", "us-east-1c"} for t in ("public", "node", "broker")}
    assert not any(s.inputs["mapPublicIpOnLaunch"] for s in subnets)
    (msk,) = stack.of("aws:msk/cluster:Cluster")
    brokers = {s.id for s in subnets if s.inputs["tags"]["tier"] == "broker"}
    assert set(msk.inputs["brokerNodeGroupInfo"]["clientSubnets"]) == brokers
    assert msk.inputs["numberOfBrokerNodes"] == 3
    assert len(stack.of("aws:ec2/natGateway:NatGateway")) == 3


def test_eks_is_one_remote_component_with_the_inputs_we_set(stack: Stack) -> None:
    (eks,) = stack.of("eks:index:Cluster")
    assert eks.inputs["createOidcProvider"] is True
    assert eks.inputs["endpointPrivateAccess"] is True
    assert eks.inputs["publicAccessCidrs"] == ["203.0.113.0/24"]
    assert set(eks.inputs["enabledClusterLogTypes"]) == {
        "api",
        "audit",
        "authenticator",
        "controllerManager",
        "scheduler",
    }
    assert eks.inputs["skipDefaultNodeGroup"] is True
    (nodes,) = stack.of("eks:index:ManagedNodeGroup")
    assert nodes.inputs["scalingConfig"] == {"desiredSize": 3, "minSize": 3, "maxSize": 6}


def test_msk_configuration_fits_the_streaming_job(stack: Stack) -> None:
    (config,) = stack.of("aws:msk/configuration:Configuration")
    props = dict(line.split("=", 1) for line in config.inputs["serverProperties"].splitlines())
    assert props["min.insync.replicas"] == "2"
    assert props["default.replication.factor"] == "3"
    assert int(props["transaction.max.timeout.ms"]) >= 900_000
    assert props["auto.create.topics.enable"] == "false"


def test_each_irsa_role_trusts_exactly_its_service_account(stack: Stack) -> None:
    trusts = {
        r.inputs["name"]: json.loads(r.inputs["assumeRolePolicy"])["Statement"][0]
        for r in stack.of("aws:iam/role:Role")
        if "WebIdentity" in r.inputs["assumeRolePolicy"]
    }
    expected = {"mlflow": "mlflow", "flink": "flink", "scoring": "fraud-scoring", "operator": "fraud-operator"}
    assert set(trusts) == {f"lfd-dev-{w}" for w in expected}
    for workload, sa in expected.items():
        statement = trusts[f"lfd-dev-{workload}"]
        assert statement["Principal"]["Federated"] == f"arn:aws:iam::{ACCOUNT}:oidc-provider/{ISSUER}"
        assert statement["Condition"]["StringEquals"] == {
            f"{ISSUER}:sub": f"system:serviceaccount:fraud:{sa}",
            f"{ISSUER}:aud": "sts.amazonaws.com",
        }


def test_the_flink_role_is_scoped_to_its_topics_group_and_transactions(stack: Stack) -> None:
    policies = [
        json.loads(r.inputs["policy"])
        for r in stack.of("aws:iam/rolePolicy:RolePolicy")
        if r.name.startswith("iam-flink")
    ]
    statements = {s.get("Sid"): s for p in policies for s in p["Statement"]}
    cluster = "arn:aws:kafka:us-east-1:123456789012:cluster/lfd-dev/6e9d4c1b-1111-2222-3333-444455556666-3"
    topic = cluster.replace(":cluster/", ":topic/")
    assert statements["ReadInput"]["Resource"] == [f"{topic}/transactions"]
    assert f"{topic}/fraud-alerts" in statements["WriteOutputs"]["Resource"]
    assert statements["ConsumerGroup"]["Resource"] == cluster.replace(":cluster/", ":group/") + "/lfd-streaming"
    assert statements["Transactions"]["Resource"].endswith("/lfd-live-fraud-detector-streaming*")
    assert statements["Objects"]["Resource"].endswith("/flink/*")


# --- each policy fires on what it guards against ------------------------------------------------------


def _replace(stack: Stack, type_: str, change: Callable[[dict[str, Any]], None]) -> Stack:
    out = []
    for r in stack.resources:
        if r.type == type_:
            inputs = json.loads(json.dumps(r.inputs))
            change(inputs)
            r = dataclasses.replace(r, inputs=inputs)
        out.append(r)
    return Stack(tuple(out))


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(inputs: dict[str, Any]) -> None:
        *parents, leaf = path.split(".")
        node = inputs
        for p in parents:
            node = node[p]
        node[leaf] = value

    return change


BROKEN = [
    (
        "s3-public-access-blocked",
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        _set("blockPublicPolicy", False),
        "public access is not blocked",
    ),
    ("s3-public-access-blocked", "aws:s3/bucket:Bucket", _set("acl", "public-read"), "makes the bucket public"),
    (
        "encryption-at-rest",
        "aws:msk/cluster:Cluster",
        _set("encryptionInfo.encryptionAtRestKmsKeyArn", ""),
        "encryptionAtRestKmsKeyArn",
    ),
    ("encryption-at-rest", "aws:cloudwatch/logGroup:LogGroup", _set("kmsKeyId", None), "kmsKeyId"),
    ("encryption-at-rest", "aws:kms/key:Key", _set("enableKeyRotation", False), "enableKeyRotation"),
    (
        "tls-in-transit",
        "aws:msk/cluster:Cluster",
        _set("encryptionInfo.encryptionInTransit.clientBroker", "TLS_PLAINTEXT"),
        "clientBroker must be TLS",
    ),
    ("tls-in-transit", "aws:s3/bucketPolicy:BucketPolicy", _set("policy", "{}"), "aws:SecureTransport"),
    (
        "msk-iam-only",
        "aws:msk/cluster:Cluster",
        _set("clientAuthentication.unauthenticated", True),
        "unauthenticated must be false",
    ),
    (
        "msk-iam-only",
        "aws:msk/configuration:Configuration",
        _set("serverProperties", "min.insync.replicas=1\ntransaction.max.timeout.ms=60000\n"),
        "min.insync.replicas",
    ),
    ("private-workloads", "aws:ec2/subnet:Subnet", _set("mapPublicIpOnLaunch", True), "mapPublicIpOnLaunch"),
    (
        "private-workloads",
        "eks:index:Cluster",
        _set("nodeAssociatePublicIpAddress", True),
        "nodeAssociatePublicIpAddress",
    ),
    ("three-azs", "aws:msk/cluster:Cluster", _set("numberOfBrokerNodes", 2), "3 AZs"),
    ("required-tags", "aws:ecr/repository:Repository", _set("tags", {"Name": "x"}), "tags missing project"),
    (
        "irsa-trust",
        "aws:iam/role:Role",
        _set(
            "assumeRolePolicy",
            json.dumps(
                documents.irsa_trust("arn:p", ISSUER, "fraud", "sa")
                | {
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": "sts:AssumeRoleWithWebIdentity",
                            "Condition": {"StringLike": {f"{ISSUER}:sub": "system:serviceaccount:*"}},
                        }
                    ]
                }
            ),
        ),
        "pin one ServiceAccount",
    ),
    (
        "least-privilege",
        "aws:iam/rolePolicy:RolePolicy",
        _set("policy", json.dumps({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})),
        "'s3:*' is a wildcard",
    ),
    ("eks-control-plane", "eks:index:Cluster", _set("enabledClusterLogTypes", ["api"]), "audit"),
    ("eks-control-plane", "eks:index:Cluster", _set("publicAccessCidrs", ["0.0.0.0/0"]), "not 0.0.0.0/0"),
    ("ecr-scanning", "aws:ecr/repository:Repository", _set("imageTagMutability", "MUTABLE"), "IMMUTABLE"),
]


@pytest.mark.parametrize(("policy", "type_", "change", "message"), BROKEN, ids=[f"{b[0]}:{b[3]}" for b in BROKEN])
def test_a_violation_names_the_policy_and_the_resource(
    stack: Stack, policy: str, type_: str, change: Callable[[dict[str, Any]], None], message: str
) -> None:
    violations = [str(v) for v in evaluate(_replace(stack, type_, change))]
    assert violations, f"{policy} did not fire"
    # Named by policy; the resource named is the one to fix (a bucket for its missing access block).
    assert all(v.startswith(f"[{policy}] aws:") or v.startswith(f"[{policy}] eks:") for v in violations), violations
    assert any(message in v for v in violations), violations


def test_every_policy_is_proven_to_fire() -> None:
    assert {p.name for p in PACK} == {b[0] for b in BROKEN}


def test_a_public_bucket_registered_by_a_program_is_reported(stack: Stack) -> None:
    """Not only edited records: a real program that registers a public bucket fails the pack by name."""
    import pulumi_aws as aws

    import pulumi

    mocks = mocked("bad")

    @pulumi.runtime.test  # type: ignore[untyped-decorator]
    def _program() -> None:
        aws.s3.Bucket("public-site", acl="public-read", tags={"Name": "x"})

    _program()
    violations = [str(v) for v in evaluate(Stack(tuple(mocks.resources)))]
    assert "[s3-public-access-blocked] aws:s3/bucket:Bucket public-site: acl public-read makes the bucket public" in (
        violations
    )
    assert any(v.startswith("[encryption-at-rest] aws:s3/bucket:Bucket public-site") for v in violations)


def test_settings_refuse_an_unsafe_public_endpoint() -> None:
    with pytest.raises(ValueError, match=r"lfd:publicAccessCidrs: must not contain 0.0.0.0/0"):
        parse({"publicAccessCidrs": '["0.0.0.0/0"]'})
    assert isinstance(AWS, Settings)
