"""Security policies of the cloud stack, written once as a policy pack and judged on registered resources.

Each policy is a named rule with a description, like a `pulumi-policy` stack validation policy: it reads
the resources the program registers (type token, name, inputs in the engine's camelCase, as
``pulumi.runtime.set_mocks`` or a policy pack sees them) and reports violations that name the policy, the
resource and what to fix. The unit tests run every policy on the mocked program and on deliberately broken
resources (a public bucket, a wildcard action, ...), so each rule is proven to fire.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from lfd_cloud.common import REQUIRED_TAGS
from lfd_cloud.settings import JOB_TRANSACTION_TIMEOUT_MS

#: AWS types this program creates that take `tags` (a new type must be added here or to UNTAGGABLE:
#: tests/pulumi/test_policies.py fails on an unclassified type).
TAGGABLE = frozenset(
    {
        "aws:ec2/vpc:Vpc",
        "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
        "aws:ec2/internetGateway:InternetGateway",
        "aws:ec2/routeTable:RouteTable",
        "aws:ec2/subnet:Subnet",
        "aws:ec2/eip:Eip",
        "aws:ec2/natGateway:NatGateway",
        "aws:ec2/flowLog:FlowLog",
        "aws:ec2/securityGroup:SecurityGroup",
        "aws:cloudwatch/logGroup:LogGroup",
        "aws:iam/role:Role",
        "aws:kms/key:Key",
        "aws:msk/cluster:Cluster",
        "aws:s3/bucket:Bucket",
        "aws:ecr/repository:Repository",
        "eks:index:Cluster",
        "eks:index:ManagedNodeGroup",
    }
)
UNTAGGABLE = frozenset(
    {
        "aws:ec2/routeTableAssociation:RouteTableAssociation",
        "aws:iam/rolePolicy:RolePolicy",
        "aws:msk/configuration:Configuration",
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "aws:s3/bucketVersioning:BucketVersioning",
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
        "aws:s3/bucketPolicy:BucketPolicy",
    }
)
EKS_LOG_TYPES = frozenset({"api", "audit", "authenticator", "controllerManager", "scheduler"})


@dataclass(frozen=True)
class Resource:
    type: str
    name: str
    inputs: Mapping[str, Any]
    id: str = ""


@dataclass(frozen=True)
class Violation:
    policy: str
    resource: str
    message: str

    def __str__(self) -> str:
        return f"[{self.policy}] {self.resource}: {self.message}"


@dataclass(frozen=True)
class Stack:
    resources: tuple[Resource, ...]

    def of(self, type_: str) -> list[Resource]:
        return [r for r in self.resources if r.type == type_]

    def by_id(self) -> dict[str, Resource]:
        return {r.id: r for r in self.resources if r.id}


Rule = Callable[[Stack], Iterable[tuple[Resource, str]]]


@dataclass(frozen=True)
class Policy:
    name: str
    description: str
    rule: Rule = field(repr=False)

    def validate(self, stack: Stack) -> list[Violation]:
        return [Violation(self.name, f"{r.type} {r.name}", msg) for r, msg in self.rule(stack)]


def _get(inputs: Mapping[str, Any], path: str) -> Any:
    value: Any = inputs
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def _doc(value: Any) -> dict[str, Any]:
    return json.loads(value) if isinstance(value, str) else dict(value or {})


def _statements(document: Any) -> list[dict[str, Any]]:
    statements = _doc(document).get("Statement", [])
    return [statements] if isinstance(statements, dict) else list(statements)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# --- rules ------------------------------------------------------------------------------------------


def _encryption_at_rest(stack: Stack) -> Iterator[tuple[Resource, str]]:
    kms_buckets = {
        _get(r.inputs, "bucket")
        for r in stack.of("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
        for rule in r.inputs.get("rules", [])
        if _get(rule, "applyServerSideEncryptionByDefault.sseAlgorithm") == "aws:kms"
        and _get(rule, "applyServerSideEncryptionByDefault.kmsMasterKeyId")
    }
    for r in stack.of("aws:s3/bucket:Bucket"):
        if r.id not in kms_buckets:
            yield r, "no SSE-KMS default encryption (add a BucketServerSideEncryptionConfiguration with aws:kms)"
    for r in stack.of("aws:msk/cluster:Cluster"):
        if not _get(r.inputs, "encryptionInfo.encryptionAtRestKmsKeyArn"):
            yield r, "encryptionInfo.encryptionAtRestKmsKeyArn must name a customer-managed key"
    for r in stack.of("aws:cloudwatch/logGroup:LogGroup"):
        if not r.inputs.get("kmsKeyId"):
            yield r, "kmsKeyId must be set (log groups hold flow and broker logs)"
    for r in stack.of("aws:ecr/repository:Repository"):
        encryption = r.inputs.get("encryptionConfigurations") or [{}]
        if encryption[0].get("encryptionType") != "KMS":
            yield r, "encryptionConfigurations[0].encryptionType must be KMS"
    for r in stack.of("eks:index:Cluster"):
        if not r.inputs.get("encryptionConfigKeyArn"):
            yield r, "encryptionConfigKeyArn must be set (envelope encryption of Kubernetes Secrets)"
    for r in stack.of("aws:kms/key:Key"):
        if r.inputs.get("enableKeyRotation") is not True:
            yield r, "enableKeyRotation must be true"


def _tls_in_transit(stack: Stack) -> Iterator[tuple[Resource, str]]:
    for r in stack.of("aws:msk/cluster:Cluster"):
        if _get(r.inputs, "encryptionInfo.encryptionInTransit.clientBroker") != "TLS":
            yield r, "encryptionInfo.encryptionInTransit.clientBroker must be TLS"
        if _get(r.inputs, "encryptionInfo.encryptionInTransit.inCluster") is not True:
            yield r, "encryptionInfo.encryptionInTransit.inCluster must be true"
    tls_only = set()
    for r in stack.of("aws:s3/bucketPolicy:BucketPolicy"):
        for s in _statements(r.inputs.get("policy")):
            if s.get("Effect") == "Deny" and _get(s, "Condition.Bool.aws:SecureTransport") == "false":
                tls_only.add(_get(r.inputs, "bucket"))
    for r in stack.of("aws:s3/bucket:Bucket"):
        if r.id not in tls_only:
            yield r, "no bucket policy denying aws:SecureTransport=false (TLS-only access)"


def _msk_iam_only(stack: Stack) -> Iterator[tuple[Resource, str]]:
    for r in stack.of("aws:msk/cluster:Cluster"):
        auth = r.inputs.get("clientAuthentication") or {}
        if _get(auth, "sasl.iam") is not True:
            yield r, "clientAuthentication.sasl.iam must be true"
        if auth.get("unauthenticated") is not False:
            yield r, "clientAuthentication.unauthenticated must be false"
        if _get(auth, "sasl.scram") or auth.get("tls"):
            yield r, "clientAuthentication allows only IAM (no SCRAM, no mTLS)"
        if _get(r.inputs, "brokerNodeGroupInfo.connectivityInfo.publicAccess.type") not in (None, "DISABLED"):
            yield r, "brokerNodeGroupInfo.connectivityInfo.publicAccess.type must be DISABLED"
    for r in stack.of("aws:msk/configuration:Configuration"):
        props = dict(
            line.split("=", 1) for line in str(r.inputs.get("serverProperties", "")).splitlines() if "=" in line
        )
        if props.get("min.insync.replicas") != "2" or props.get("default.replication.factor") != "3":
            yield r, "serverProperties must set min.insync.replicas=2 and default.replication.factor=3"
        if int(props.get("transaction.max.timeout.ms", "0")) < JOB_TRANSACTION_TIMEOUT_MS:
            yield r, f"serverProperties transaction.max.timeout.ms must be >= {JOB_TRANSACTION_TIMEOUT_MS}"


def _public_subnets(stack: Stack) -> set[str]:
    """Subnet ids whose route table sends 0.0.0.0/0 to an internet gateway."""
    igws = {r.id for r in stack.of("aws:ec2/internetGateway:InternetGateway")}
    public_rts = {
        r.id
        for r in stack.of("aws:ec2/routeTable:RouteTable")
        if any(route.get("gatewayId") in igws for route in r.inputs.get("routes", []))
    }
    return {
        _get(a.inputs, "subnetId")
        for a in stack.of("aws:ec2/routeTableAssociation:RouteTableAssociation")
        if _get(a.inputs, "routeTableId") in public_rts
    }


def _private_workloads(stack: Stack) -> Iterator[tuple[Resource, str]]:
    public = _public_subnets(stack)
    for r in stack.of("aws:ec2/subnet:Subnet"):
        if r.inputs.get("mapPublicIpOnLaunch"):
            yield r, "mapPublicIpOnLaunch must be false (no instance gets a public IP)"
    for r in stack.of("eks:index:ManagedNodeGroup"):
        if not r.inputs.get("subnetIds") or set(r.inputs["subnetIds"]) & public:
            yield r, "nodes must run in private subnets only (subnetIds routes to an internet gateway)"
    for r in stack.of("eks:index:Cluster"):
        if r.inputs.get("nodeAssociatePublicIpAddress") is not False:
            yield r, "nodeAssociatePublicIpAddress must be false"
        if set(r.inputs.get("privateSubnetIds") or []) & public:
            yield r, "privateSubnetIds contains a public subnet"
    for r in stack.of("aws:msk/cluster:Cluster"):
        if set(_get(r.inputs, "brokerNodeGroupInfo.clientSubnets") or []) & public:
            yield r, "brokers must run in private subnets (clientSubnets routes to an internet gateway)"


def _s3_public_access_blocked(stack: Stack) -> Iterator[tuple[Resource, str]]:
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    blocked = {
        _get(r.inputs, "bucket")
        for r in stack.of("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
        if all(r.inputs.get(f) is True for f in flags)
    }
    for r in stack.of("aws:s3/bucket:Bucket"):
        if r.id not in blocked:
            yield r, "public access is not blocked (a BucketPublicAccessBlock with all four flags true)"
        if r.inputs.get("acl") in ("public-read", "public-read-write"):
            yield r, f"acl {r.inputs['acl']} makes the bucket public"


def _three_azs(stack: Stack) -> Iterator[tuple[Resource, str]]:
    subnets = {r.id: r for r in stack.of("aws:ec2/subnet:Subnet")}
    for r in stack.of("aws:msk/cluster:Cluster"):
        zones = {
            _get(subnets.get(s, Resource("", "", {})).inputs, "availabilityZone")
            for s in _get(r.inputs, "brokerNodeGroupInfo.clientSubnets") or []
        }
        if len(zones - {None}) != 3 or int(r.inputs.get("numberOfBrokerNodes", 0)) % 3:
            yield r, "brokers must span 3 AZs (3 client subnets in 3 zones, brokers a multiple of 3)"
    for r in stack.of("eks:index:ManagedNodeGroup"):
        zones = {
            _get(subnets.get(s, Resource("", "", {})).inputs, "availabilityZone")
            for s in r.inputs.get("subnetIds") or []
        }
        if len(zones - {None}) != 3:
            yield r, "nodes must span 3 AZs"


def _required_tags(stack: Stack) -> Iterator[tuple[Resource, str]]:
    for r in stack.resources:
        if r.type in TAGGABLE:
            missing = [t for t in REQUIRED_TAGS if t not in (r.inputs.get("tags") or {})]
            if missing:
                yield r, f"tags missing {', '.join(missing)}"


def _irsa_trust(stack: Stack) -> Iterator[tuple[Resource, str]]:
    for r in stack.of("aws:iam/role:Role"):
        for s in _statements(r.inputs.get("assumeRolePolicy")):
            if "sts:AssumeRoleWithWebIdentity" not in _as_list(s.get("Action")):
                continue
            equals = _get(s, "Condition.StringEquals") or {}
            subs = [v for k, v in equals.items() if k.endswith(":sub")]
            auds = [v for k, v in equals.items() if k.endswith(":aud")]
            if len(subs) != 1 or not str(subs[0]).startswith("system:serviceaccount:") or "*" in str(subs[0]):
                yield (
                    r,
                    "trust must pin one ServiceAccount with StringEquals <issuer>:sub system:serviceaccount:<ns>:<sa>",
                )
            if auds != ["sts.amazonaws.com"]:
                yield r, "trust must require StringEquals <issuer>:aud sts.amazonaws.com"


def _least_privilege(stack: Stack) -> Iterator[tuple[Resource, str]]:
    for r in stack.of("aws:iam/rolePolicy:RolePolicy"):
        for s in _statements(r.inputs.get("policy")):
            if s.get("Effect") != "Allow":
                continue
            for action in _as_list(s.get("Action")):
                if action == "*" or str(action).endswith(":*"):
                    yield r, f"action {action!r} is a wildcard; list the actions the workload uses"
            for resource in _as_list(s.get("Resource")):
                if resource == "*" or str(resource).endswith(":::*"):
                    yield r, f"resource {resource!r} is unscoped; name the bucket prefix, topic, group or log group"


def _eks_control_plane(stack: Stack) -> Iterator[tuple[Resource, str]]:
    for r in stack.of("eks:index:Cluster"):
        missing = EKS_LOG_TYPES - set(r.inputs.get("enabledClusterLogTypes") or [])
        if missing:
            yield r, f"enabledClusterLogTypes misses {', '.join(sorted(missing))}"
        if r.inputs.get("createOidcProvider") is not True:
            yield r, "createOidcProvider must be true (IRSA)"
        if r.inputs.get("endpointPrivateAccess") is not True:
            yield r, "endpointPrivateAccess must be true"
        if r.inputs.get("endpointPublicAccess") is not False:
            cidrs = r.inputs.get("publicAccessCidrs") or ["0.0.0.0/0"]
            if "0.0.0.0/0" in cidrs:
                yield r, "a public endpoint must be limited by publicAccessCidrs (not 0.0.0.0/0)"


def _ecr_scanning(stack: Stack) -> Iterator[tuple[Resource, str]]:
    for r in stack.of("aws:ecr/repository:Repository"):
        if _get(r.inputs, "imageScanningConfiguration.scanOnPush") is not True:
            yield r, "imageScanningConfiguration.scanOnPush must be true"
        if r.inputs.get("imageTagMutability") != "IMMUTABLE":
            yield r, "imageTagMutability must be IMMUTABLE"


PACK: tuple[Policy, ...] = (
    Policy(
        "encryption-at-rest",
        "S3, MSK, log groups, ECR and EKS Secrets use customer-managed KMS keys (rotated).",
        _encryption_at_rest,
    ),
    Policy(
        "tls-in-transit",
        "MSK encrypts client and inter-broker traffic; buckets refuse non-TLS requests.",
        _tls_in_transit,
    ),
    Policy(
        "msk-iam-only",
        "MSK accepts IAM-authenticated clients only, has no public access, and keeps "
        "acknowledged writes on 2 of 3 replicas with room for the job's transactions.",
        _msk_iam_only,
    ),
    Policy(
        "private-workloads",
        "Nodes and brokers run in private subnets; no instance gets a public IP.",
        _private_workloads,
    ),
    Policy("s3-public-access-blocked", "Every bucket blocks public ACLs and policies.", _s3_public_access_blocked),
    Policy("three-azs", "Brokers and nodes span 3 availability zones.", _three_azs),
    Policy("required-tags", f"Every taggable resource carries {', '.join(REQUIRED_TAGS)}.", _required_tags),
    Policy("irsa-trust", "Web-identity roles trust one ServiceAccount (sub) with the STS audience (aud).", _irsa_trust),
    Policy("least-privilege", "Role policies list actions and scope resources (no '*').", _least_privilege),
    Policy(
        "eks-control-plane",
        "EKS logs every control-plane stream, has an OIDC provider for IRSA, and a "
        "private endpoint; a public one is limited to listed CIDRs.",
        _eks_control_plane,
    ),
    Policy("ecr-scanning", "ECR repositories scan on push and have immutable tags.", _ecr_scanning),
)


def evaluate(stack: Stack, pack: Iterable[Policy] = PACK) -> list[Violation]:
    return [v for policy in pack for v in policy.validate(stack)]
