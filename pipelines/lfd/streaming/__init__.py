"""Streaming: Kafka `transactions` → parse/validate → score via the active model service → Kafka sinks.

Import direction (kept one-way so the pure modules load in both environments, without PyFlink):

    config, records, resilience, client, produce, metrics   (pure / stdlib + httpx, confluent-kafka)
        ↑
    functions (PyFlink Function classes)  ←  job (build_pipeline, main)   (streaming env only)
        ↑
    cli (`lfd produce`, `lfd stream`; the latter spawns `job` with the streaming env's python)
"""
