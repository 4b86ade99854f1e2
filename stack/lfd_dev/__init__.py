"""The local stack: real Kafka, Kubernetes control plane, MLflow, Prometheus, Flink and helm as processes.

``install.sh`` (beside this package, in ``stack/``) fetches and builds the pinned artifacts into a cache;
this package starts, health-checks and stops them. See ``lfd stack --help``.
"""
