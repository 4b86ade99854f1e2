"""Kafka: MSK across the 3 broker subnets. Clients authenticate with IAM only (no unauthenticated or
plaintext listener), TLS in transit (client-broker and between brokers), encryption at rest with a
customer-managed key, broker logs to an encrypted log group, and a configuration that lets the streaming
job's exactly-once sinks start (transaction.max.timeout.ms >= its transaction timeout) and keeps
acknowledged writes on 2 of 3 replicas."""

from __future__ import annotations

import pulumi_aws as aws

import pulumi
from lfd_cloud.common import child, kms_key, tags
from lfd_cloud.network import Network, subnet_cidrs
from lfd_cloud.settings import Settings

#: The port of MSK's SASL/IAM listener over TLS.
IAM_TLS_PORT = 9098


def server_properties(settings: Settings) -> str:
    """The broker configuration (MSK custom configuration), one `key=value` per line."""
    props = {
        "auto.create.topics.enable": "false",  # topics are created with their replication on purpose
        "default.replication.factor": "3",
        "min.insync.replicas": "2",
        "num.partitions": "6",
        "offsets.topic.replication.factor": "3",
        "transaction.state.log.replication.factor": "3",
        "transaction.state.log.min.isr": "2",
        "transaction.max.timeout.ms": str(settings.kafka_transaction_max_timeout_ms),
        "unclean.leader.election.enable": "false",
    }
    return "".join(f"{k}={v}\n" for k, v in props.items())


class Kafka(pulumi.ComponentResource):
    arn: pulumi.Output[str]
    bootstrap_brokers: pulumi.Output[str]

    def __init__(
        self, name: str, settings: Settings, network: Network, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("lfd:cloud:Kafka", name, None, opts)
        key = kms_key(self, settings, f"{name}-kms", "MSK encryption at rest and broker logs")
        logs = aws.cloudwatch.LogGroup(
            f"{name}-broker-logs",
            name=f"/lfd/{settings.environment}/msk-brokers",
            retention_in_days=30,
            kms_key_id=key.arn,
            tags=tags(settings, f"{name}-broker-logs"),
            opts=child(self),
        )
        group = aws.ec2.SecurityGroup(
            f"{name}-brokers",
            vpc_id=network.vpc_id,
            description="MSK brokers: SASL/IAM over TLS from the node subnets only",
            ingress=[
                aws.ec2.SecurityGroupIngressArgs(
                    protocol="tcp",
                    from_port=IAM_TLS_PORT,
                    to_port=IAM_TLS_PORT,
                    cidr_blocks=subnet_cidrs(settings.vpc_cidr)["node"],
                    description="Kafka clients (pods) in the node subnets",
                )
            ],
            tags=tags(settings, f"{name}-brokers"),
            opts=child(self),
        )
        configuration = aws.msk.Configuration(
            f"{name}-config",
            name=f"{settings.name}-kafka",
            kafka_versions=[settings.kafka_version],
            server_properties=server_properties(settings),
            opts=child(self),
        )
        cluster = aws.msk.Cluster(
            f"{name}-msk",
            cluster_name=settings.name,
            kafka_version=settings.kafka_version,
            number_of_broker_nodes=3,
            broker_node_group_info=aws.msk.ClusterBrokerNodeGroupInfoArgs(
                instance_type=settings.kafka_instance_type,
                client_subnets=network.broker_subnet_ids,
                security_groups=[group.id],
                storage_info=aws.msk.ClusterBrokerNodeGroupInfoStorageInfoArgs(
                    ebs_storage_info=aws.msk.ClusterBrokerNodeGroupInfoStorageInfoEbsStorageInfoArgs(
                        volume_size=settings.kafka_volume_gib
                    )
                ),
                connectivity_info=aws.msk.ClusterBrokerNodeGroupInfoConnectivityInfoArgs(
                    public_access=aws.msk.ClusterBrokerNodeGroupInfoConnectivityInfoPublicAccessArgs(type="DISABLED")
                ),
            ),
            client_authentication=aws.msk.ClusterClientAuthenticationArgs(
                sasl=aws.msk.ClusterClientAuthenticationSaslArgs(iam=True, scram=False),
                unauthenticated=False,
            ),
            encryption_info=aws.msk.ClusterEncryptionInfoArgs(
                encryption_at_rest_kms_key_arn=key.arn,
                encryption_in_transit=aws.msk.ClusterEncryptionInfoEncryptionInTransitArgs(
                    client_broker="TLS", in_cluster=True
                ),
            ),
            configuration_info=aws.msk.ClusterConfigurationInfoArgs(
                arn=configuration.arn, revision=configuration.latest_revision
            ),
            logging_info=aws.msk.ClusterLoggingInfoArgs(
                broker_logs=aws.msk.ClusterLoggingInfoBrokerLogsArgs(
                    cloudwatch_logs=aws.msk.ClusterLoggingInfoBrokerLogsCloudwatchLogsArgs(
                        enabled=True, log_group=logs.name
                    )
                )
            ),
            open_monitoring=aws.msk.ClusterOpenMonitoringArgs(
                prometheus=aws.msk.ClusterOpenMonitoringPrometheusArgs(
                    jmx_exporter=aws.msk.ClusterOpenMonitoringPrometheusJmxExporterArgs(enabled_in_broker=True),
                    node_exporter=aws.msk.ClusterOpenMonitoringPrometheusNodeExporterArgs(enabled_in_broker=True),
                )
            ),
            tags=tags(settings, f"{name}-msk"),
            opts=child(self),
        )
        self.arn = cluster.arn
        self.bootstrap_brokers = cluster.bootstrap_brokers_sasl_iam
        self.register_outputs({"arn": self.arn, "bootstrapBrokers": self.bootstrap_brokers})
