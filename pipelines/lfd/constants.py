"""Names and numbers more than one area uses, each defined here once (standard library only: the
streaming job imports the shared core inside the PyFlink environment)."""

from __future__ import annotations

from pathlib import Path
from typing import Final

#: The shared dev sample (25,918 real ULB rows, 331 frauds; ODbL, see its README): the default data of
#: training, the producer, the operator's quality replay set, benchmarks and tests.
DEV_DATA: Final = Path("/work/shared/data/creditcard/creditcard_dev.csv.gz")

#: The registered model (MLflow registry) and the MLflow experiment its training runs log to.
MODEL_NAME: Final = "fraud-detector"
EXPERIMENT: Final = MODEL_NAME
#: Registry aliases: training registers @challenger, promotion moves @champion, serving loads @champion.
CHALLENGER: Final = "challenger"
CHAMPION: Final = "champion"

#: Share of frauds in the real card stream (0.167%, the full ULB capture): synthetic streams default to it.
STREAM_FRAUD_RATIO: Final = 0.00167

#: Champion-vs-challenger gauges the drift monitor exports (lfd.drift.gauges) and the operator's optional
#: ``prePromotionAnalysis.shadow`` gate reads back from Prometheus: metric name by quantity, and their labels.
SHADOW_METRICS: Final = {
    "transactions": "lfd_shadow_transactions",
    "agreement": "lfd_shadow_agreement",
    "alert_rate_ratio": "lfd_shadow_alert_rate_ratio",
    "score_distance": "lfd_shadow_score_distance",
}
SHADOW_LABELS: Final = ("champion_version", "challenger_version")
