"""The batched job (``--design batch``, the default): Kafka → one vectorised Python UDF → one Kafka sink.

    transactions ─Kafka SQL source (read_committed; key, value, timestamp)─▶ score_batch(value, ts)
        (pandas UDF: a batch of up to --batch-size rows per call: parse, contract check, one OIP v2
         request, output records) ─▶ UNNEST(score | alert | shadow, or dlq) ─▶ one EXACTLY_ONCE Kafka
        sink whose ``topic`` column picks scores / fraud-alerts / transactions-dlq / scores-shadow

Flink's Arrow operator hands the UDF a batch when ``--batch-size`` rows have arrived, at each bundle
end (``--bundle-time-ms``) and before every checkpoint barrier, and the barrier passes only after
the batch's outputs are emitted: a checkpoint never holds a half-scored record. The UDF blocks while
the scoring service is down (retrying), which back-pressures the Kafka source: nothing is dropped.
Splitting one row into several outputs happens in the JVM (UNNEST), so Python runs once per batch.

Streaming environment only (imports PyFlink).
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import pandas as pd
from pyflink.datastream import StreamExecutionEnvironment
from pyflink.table import DataTypes, StreamTableEnvironment
from pyflink.table.udf import FunctionContext, ScalarFunction, udf

from lfd.streaming import config as cfg
from lfd.streaming import metrics as m
from lfd.streaming import tables
from lfd.streaming.scorer import BatchScorer

OUTPUT_TYPE = DataTypes.ROW(
    [
        DataTypes.FIELD(name, DataTypes.STRING() if name.startswith("t") else DataTypes.BYTES())
        for name in tables.OUTPUT_FIELDS
    ]
)


class ScoreBatch(ScalarFunction):  # type: ignore[misc]
    """The pandas UDF: (key, value, timestamp) columns of a batch → one output row per input row."""

    def __init__(self, config: cfg.StreamConfig) -> None:
        self.config = config
        self.scorer: BatchScorer | None = None

    def open(self, function_context: FunctionContext) -> None:
        recorder = m.Recorder(function_context.get_metric_group())
        recorder.register_gauges()
        self.scorer = BatchScorer(self.config, recorder)
        self.scorer.open()

    def close(self) -> None:
        if self.scorer is not None:
            self.scorer.close()

    def eval(self, key: pd.Series, value: pd.Series, ts: pd.Series) -> pd.DataFrame:
        assert self.scorer is not None
        event_ms = event_millis(ts)
        rows = self.scorer.process(value.tolist(), key.tolist(), event_ms)
        return pd.DataFrame.from_records(rows, columns=list(tables.OUTPUT_FIELDS))


def event_millis(ts: pd.Series) -> list[int]:
    """Kafka record timestamps (TIMESTAMP_LTZ, any pandas resolution) → ms since the epoch."""
    values = (
        ts.to_numpy(dtype="datetime64[ms]") if ts.dt.tz is None else ts.dt.tz_convert(None).to_numpy("datetime64[ms]")
    )
    return values.astype(np.int64).tolist()  # type: ignore[no-any-return]


#: The table session's time zone. Only the Kafka timestamp (TIMESTAMP_LTZ) crosses into Python, and
#: PyFlink 2.2 hands it to a pandas UDF as the UTC wall-clock localised in *this* zone: in any other zone
#: than UTC, event_time_ms (and so event_to_score_ms) was off by the zone's offset (TZ=Asia/Kolkata:
#: +19,800,000 ms, measured with the real job; tests/streaming). No SQL here depends on the zone otherwise.
SESSION_TIME_ZONE: Final = "UTC"


def build(t_env: StreamTableEnvironment, config: cfg.StreamConfig) -> Any:
    """Register the tables and the UDF on ``t_env``; return the INSERT's TableResult-to-be (a StatementSet)."""
    t_env.get_config().set("table.local-time-zone", SESSION_TIME_ZONE)
    t_env.get_config().set("python.fn-execution.arrow.batch.size", str(config.batch_size))
    t_env.create_temporary_function(
        tables.UDF_NAME, udf(ScoreBatch(config), result_type=OUTPUT_TYPE, func_type="pandas")
    )
    t_env.execute_sql(tables.source_ddl(config))
    t_env.execute_sql(tables.sink_ddl(config))
    statements = t_env.create_statement_set()
    statements.add_insert_sql(tables.insert_sql())
    return statements


def run(config: cfg.StreamConfig, env: StreamExecutionEnvironment) -> None:
    t_env = StreamTableEnvironment.create(env)
    t_env.get_config().set("pipeline.name", "lfd-streaming")
    build(t_env, config).execute().wait()
