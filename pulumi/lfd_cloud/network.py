"""Network: a VPC across 3 AZs. Public subnets hold only load balancers and the NAT gateways (no instance
gets a public IP); nodes and brokers live in private subnets of their own; VPC flow logs go to a
KMS-encrypted log group."""

from __future__ import annotations

import ipaddress
import json

import pulumi_aws as aws

import pulumi
from lfd_cloud import documents
from lfd_cloud.common import child, kms_key, tags
from lfd_cloud.settings import Settings


def subnet_cidrs(vpc_cidr: str) -> dict[str, list[str]]:
    """Per tier, one CIDR per AZ: nodes get /19s (pods take VPC IPs with the AWS CNI), the rest /24s."""
    net = ipaddress.IPv4Network(vpc_cidr)
    nineteens = list(net.subnets(new_prefix=19))
    twenty_fours = list(nineteens[-1].subnets(new_prefix=24))
    return {
        "node": [str(s) for s in nineteens[:3]],
        "public": [str(s) for s in twenty_fours[:3]],
        "broker": [str(s) for s in twenty_fours[3:6]],
    }


class Network(pulumi.ComponentResource):
    vpc_id: pulumi.Output[str]
    public_subnet_ids: list[pulumi.Output[str]]
    node_subnet_ids: list[pulumi.Output[str]]
    broker_subnet_ids: list[pulumi.Output[str]]

    def __init__(self, name: str, settings: Settings, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("lfd:cloud:Network", name, None, opts)
        cidrs = subnet_cidrs(settings.vpc_cidr)
        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=settings.vpc_cidr,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags=tags(settings, f"{name}-vpc"),
            opts=child(self),
        )
        # The default security group of a VPC allows all traffic between its members: empty it.
        aws.ec2.DefaultSecurityGroup(
            f"{name}-default-sg", vpc_id=vpc.id, tags=tags(settings, f"{name}-default-sg"), opts=child(self)
        )
        igw = aws.ec2.InternetGateway(
            f"{name}-igw", vpc_id=vpc.id, tags=tags(settings, f"{name}-igw"), opts=child(self)
        )
        public_rt = aws.ec2.RouteTable(
            f"{name}-public",
            vpc_id=vpc.id,
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=igw.id)],
            tags=tags(settings, f"{name}-public"),
            opts=child(self),
        )
        self.public_subnet_ids, self.node_subnet_ids, self.broker_subnet_ids = [], [], []
        nats: list[aws.ec2.NatGateway] = []
        for i, zone in enumerate(settings.zones):
            public = aws.ec2.Subnet(
                f"{name}-public-{zone}",
                vpc_id=vpc.id,
                cidr_block=cidrs["public"][i],
                availability_zone=zone,
                map_public_ip_on_launch=False,
                tags=tags(settings, f"{name}-public-{zone}", **{"kubernetes.io/role/elb": "1", "tier": "public"}),
                opts=child(self),
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-public-{zone}", subnet_id=public.id, route_table_id=public_rt.id, opts=child(self)
            )
            self.public_subnet_ids.append(public.id)
            if settings.nat_gateway_per_az or i == 0:
                eip = aws.ec2.Eip(
                    f"{name}-nat-{zone}", domain="vpc", tags=tags(settings, f"{name}-nat-{zone}"), opts=child(self)
                )
                nats.append(
                    aws.ec2.NatGateway(
                        f"{name}-nat-{zone}",
                        allocation_id=eip.id,
                        subnet_id=public.id,
                        tags=tags(settings, f"{name}-nat-{zone}"),
                        opts=child(self, depends_on=[igw]),
                    )
                )
            nat = nats[i] if settings.nat_gateway_per_az else nats[0]
            private_rt = aws.ec2.RouteTable(
                f"{name}-private-{zone}",
                vpc_id=vpc.id,
                routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", nat_gateway_id=nat.id)],
                tags=tags(settings, f"{name}-private-{zone}"),
                opts=child(self),
            )
            for tier, ids, extra in (
                ("node", self.node_subnet_ids, {"kubernetes.io/role/internal-elb": "1"}),
                ("broker", self.broker_subnet_ids, {}),
            ):
                subnet = aws.ec2.Subnet(
                    f"{name}-{tier}-{zone}",
                    vpc_id=vpc.id,
                    cidr_block=cidrs[tier][i],
                    availability_zone=zone,
                    map_public_ip_on_launch=False,
                    tags=tags(settings, f"{name}-{tier}-{zone}", tier=tier, **extra),
                    opts=child(self),
                )
                aws.ec2.RouteTableAssociation(
                    f"{name}-{tier}-{zone}", subnet_id=subnet.id, route_table_id=private_rt.id, opts=child(self)
                )
                ids.append(subnet.id)
        self._flow_logs(name, settings, vpc)
        self.vpc_id = vpc.id
        self.register_outputs(
            {
                "vpcId": vpc.id,
                "publicSubnetIds": self.public_subnet_ids,
                "nodeSubnetIds": self.node_subnet_ids,
                "brokerSubnetIds": self.broker_subnet_ids,
            }
        )

    def _flow_logs(self, name: str, settings: Settings, vpc: aws.ec2.Vpc) -> None:
        key = kms_key(self, settings, f"{name}-logs", "VPC flow logs")
        group = aws.cloudwatch.LogGroup(
            f"{name}-flow-logs",
            name=f"/lfd/{settings.environment}/vpc-flow-logs",
            retention_in_days=settings.flow_log_retention_days,
            kms_key_id=key.arn,
            tags=tags(settings, f"{name}-flow-logs"),
            opts=child(self),
        )
        role = aws.iam.Role(
            f"{name}-flow-logs",
            assume_role_policy=json.dumps(documents.assume_by_service("vpc-flow-logs.amazonaws.com")),
            tags=tags(settings, f"{name}-flow-logs"),
            opts=child(self),
        )
        aws.iam.RolePolicy(
            f"{name}-flow-logs",
            role=role.id,
            policy=group.arn.apply(lambda arn: json.dumps(documents.flow_logs_delivery(arn))),
            opts=child(self),
        )
        aws.ec2.FlowLog(
            f"{name}-flow-logs",
            vpc_id=vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=group.arn,
            iam_role_arn=role.arn,
            tags=tags(settings, f"{name}-flow-logs"),
            opts=child(self),
        )
