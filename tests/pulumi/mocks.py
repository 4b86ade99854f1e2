"""Run the Pulumi program in-process with ``pulumi.runtime.set_mocks``: no CLI, no cloud. Every registered
resource is recorded (type, name, inputs as the engine sees them) for the policy pack and the asserts; the
mocks answer with the outputs the program reads (ARNs, the OIDC issuer, bootstrap brokers, ...)."""

from __future__ import annotations

import asyncio
from typing import Any

from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.proto import resource_pb2

import pulumi
from lfd_cloud import program
from lfd_cloud.policies import Resource, Stack
from lfd_cloud.settings import Settings

ACCOUNT = "123456789012"
REGION = "us-east-1"
ISSUER = f"oidc.eks.{REGION}.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"


def _outputs(type_: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    out = dict(inputs)
    if type_ == "eks:index:Cluster":
        out.update(
            kubeconfigJson='{"apiVersion": "v1", "kind": "Config"}',
            oidcProviderArn=f"arn:aws:iam::{ACCOUNT}:oidc-provider/{ISSUER}",
            oidcIssuer=ISSUER,
            oidcProviderUrl=f"https://{ISSUER}",
        )
    elif type_ == "aws:msk/cluster:Cluster":
        cluster = inputs["clusterName"]
        out.update(
            arn=f"arn:aws:kafka:{REGION}:{ACCOUNT}:cluster/{cluster}/6e9d4c1b-1111-2222-3333-444455556666-3",
            bootstrapBrokersSaslIam=",".join(f"b-{i}.{cluster}.kafka.{REGION}.amazonaws.com:9098" for i in (1, 2, 3)),
        )
    elif type_ == "aws:msk/configuration:Configuration":
        out.update(arn=f"arn:aws:kafka:{REGION}:{ACCOUNT}:configuration/{inputs['name']}/uuid", latestRevision=1)
    elif type_ == "aws:s3/bucket:Bucket":
        bucket = f"{inputs.get('bucketPrefix', name)}0123abcd"
        out.update(bucket=bucket, arn=f"arn:aws:s3:::{bucket}")
    elif type_ == "aws:ecr/repository:Repository":
        out.update(repositoryUrl=f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{inputs['name']}")
    elif type_ == "aws:cloudwatch/logGroup:LogGroup":
        out.update(arn=f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{inputs.get('name', name)}")
    elif type_ == "aws:iam/role:Role":
        out.update(arn=f"arn:aws:iam::{ACCOUNT}:role/{inputs.get('name', name)}")
    elif type_ == "aws:kms/key:Key":
        out.update(arn=f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{name}")
    else:
        out.setdefault("arn", f"arn:aws:mock:{REGION}:{ACCOUNT}:{name}")
    return out


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.resources: list[Resource] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        resource_id = f"{args.name}-id"
        self.resources.append(Resource(args.typ, args.name, dict(args.inputs), resource_id))
        return resource_id, _outputs(args.typ, args.name, dict(args.inputs))

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:  # type: ignore[override]
        # A bare dict: the SDK's own `(dict, None)` shape fails in its Invoke (iterates the None).
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:user/ci", "userId": "AIDAEXAMPLE"}
        raise AssertionError(f"the program made an unexpected call: {args.token}")


class _NoReferencesMonitor(MockMonitor):
    """The SDK's mock monitor without the resource-references feature. With it, a resource passed to
    another (ManagedNodeGroup's `cluster`) is rehydrated on the monitor's worker thread, whose event loop is
    not the program's ("attached to a different loop"); without it the SDK sends the resource's URN."""

    def GetDeploymentInfo(self, request: Any) -> Any:
        info = super().GetDeploymentInfo(request)  # type: ignore[no-untyped-call]
        keep = [f for f in info.supportedFeatures if f != resource_pb2.RESOURCE_MONITOR_FEATURE_RESOURCE_REFERENCES]
        return resource_pb2.DeploymentInfo(supportedFeatures=keep)


def mocked(stack: str) -> RecordingMocks:
    # The SDK creates futures on the thread's current event loop. A test run earlier in the same process that
    # used asyncio.run() leaves none set (asyncio.run ends with set_event_loop(None)), so give it a fresh one.
    asyncio.set_event_loop(asyncio.new_event_loop())
    mocks = RecordingMocks()
    pulumi.runtime.set_mocks(mocks, project="lfd", stack=stack, preview=False, monitor=_NoReferencesMonitor(mocks))
    return mocks


def run_mocked(settings: Settings) -> Stack:
    """Run the whole program under mocks; return every resource it registered."""
    mocks = mocked("test")

    @pulumi.runtime.test  # type: ignore[untyped-decorator]
    def _program() -> None:
        program.run(settings)

    _program()
    return Stack(tuple(mocks.resources))
