"""Security fixtures: ONE real scoring service (`lfd serve` on the dev-data bundle) with small,
explicit resource limits, so every limit is cheap to reach and every fuzzer hits the real process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lfd_dev.scoring_process import ScoringProcess

# fixtures reused, not redefined: the scoring bundle, the streaming job's topics/job/service, the operator's kubectl
from tests.operator.conftest import kubectl  # noqa: F401
from tests.scoring.conftest import bundle_dir, dev_frame  # noqa: F401
from tests.streaming.conftest import make_job, model_dir, scoring, topics  # noqa: F401

#: The limits the hardened service runs with (LFD_SCORING_* variables; defaults in scoring/config.py).
LIMITS = {
    "MAX_BATCH": 1_000,
    "MAX_BODY_BYTES": 1_000_000,  # a 1,000-record /score body is ~0.65 MB
    "BODY_TIMEOUT_S": 2.0,
    "MAX_URL_BYTES": 2_048,
    "MAX_HEADER_BYTES": 16_384,
    "MAX_TENSOR_ELEMENTS": 30_000,  # = MAX_BATCH rows x 30 features
    "GRPC_MAX_MESSAGE_BYTES": 1_000_000,
    "REQUEST_TIMEOUT_S": 10.0,
}
MODEL_NAME = "fraud-detector"


@pytest.fixture(scope="session")
def hardened_service(bundle_dir, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScoringProcess]:  # noqa: F811
    log = tmp_path_factory.mktemp("security-scoring") / "service.log"
    env = {f"LFD_SCORING_{k}": str(v) for k, v in LIMITS.items()}
    env["LFD_SCORING_MODEL_VERSION"] = "security-test"
    running = ScoringProcess(["--model-dir", str(bundle_dir), "--max-batch", str(LIMITS["MAX_BATCH"])], log, env)
    try:
        yield running.start_ready()
    finally:
        running.stop()
