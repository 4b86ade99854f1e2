"""The fast paths keep the contract: compiled trees score like the booster, and the hot HTTP routes
(answered in front of BentoML) validate, map errors and score like the rest of the service."""

from __future__ import annotations

import json
import math
from pathlib import Path

import httpx
import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest

from lfd.contract import FEATURES
from lfd.model_bundle import ModelBundle
from lfd_dev.scoring_process import ScoringProcess
from scoring.errors import UnprocessableInput
from scoring.hot_routes import INFER_PATH, decode_json
from scoring.model import LoadedModel
from scoring.trees import MAX_COMPILED_ROWS, compile_checked
from scoring.xgb_direct import direct_checked

MODEL = "fraud-detector"


@pytest.fixture(scope="module")
def bundle(bundle_dir: Path) -> ModelBundle:
    return ModelBundle.load(bundle_dir)


@pytest.fixture(scope="module")
def features(dev_frame: pd.DataFrame) -> npt.NDArray[np.float32]:
    rows: npt.NDArray[np.float32] = dev_frame[list(FEATURES)].to_numpy(np.float32)
    return rows


@pytest.mark.unit
def test_compiled_trees_score_every_dev_row_like_the_booster(
    bundle: ModelBundle, features: npt.NDArray[np.float32]
) -> None:
    compiled = compile_checked(bundle.booster, bundle.predict_proba, len(FEATURES))
    assert compiled is not None
    for rows in (features[:1], features[5:12], features[:MAX_COMPILED_ROWS], features):
        np.testing.assert_allclose(compiled.predict_proba(rows), bundle.predict_proba(rows), rtol=0, atol=1e-6)


@pytest.mark.unit
def test_loaded_model_routes_small_finite_batches_to_the_compiled_trees(
    bundle: ModelBundle, features: npt.NDArray[np.float32]
) -> None:
    compiled = compile_checked(bundle.booster, bundle.predict_proba, len(FEATURES))
    model = LoadedModel(bundle, MODEL, "1", "test", compiled=compiled)
    small, large = features[:3], features[: MAX_COMPILED_ROWS + 1]
    np.testing.assert_allclose(model.predict(small), bundle.predict_proba(small), rtol=0, atol=1e-6)
    np.testing.assert_allclose(model.predict(large), bundle.predict_proba(large), rtol=0, atol=1e-6)
    missing = features[:2].copy()
    missing[0, 3] = np.nan  # the booster's missing-value branch, which the compiled walk does not model
    np.testing.assert_array_equal(model.predict(missing), bundle.predict_proba(missing))


@pytest.mark.unit
def test_unsupported_models_keep_the_booster(dev_frame: pd.DataFrame, bundle: ModelBundle) -> None:
    import xgboost as xgb

    x = dev_frame[list(FEATURES)].head(300).to_numpy(np.float32)
    regression = xgb.train({"objective": "reg:squarederror", "nthread": 1, "max_depth": 2},
                           xgb.DMatrix(x, label=dev_frame["Amount"].head(300)), num_boost_round=2)  # fmt: skip
    assert compile_checked(regression, lambda rows: regression.inplace_predict(rows), len(FEATURES)) is None
    assert compile_checked(bundle.booster, bundle.predict_proba, len(FEATURES) - 1) is None  # width mismatch


@pytest.mark.unit
def test_direct_libxgboost_call_scores_exactly_like_inplace_predict(
    bundle: ModelBundle, features: npt.NDArray[np.float32]
) -> None:
    direct = direct_checked(bundle.booster, bundle.predict_proba, len(FEATURES))
    assert direct is not None
    missing = features[:5].copy()
    missing[1, 3] = np.nan
    for rows in (features[:1], features[:100], features, missing, features[:0]):
        np.testing.assert_array_equal(direct(np.ascontiguousarray(rows)), bundle.predict_proba(rows))
    for wrong in (features[:3].astype(np.float64), features[:3, :29].copy(), np.asfortranarray(features[:3])):
        with pytest.raises(ValueError, match="expected"):
            direct(wrong)
    model = LoadedModel(bundle, MODEL, "1", "test", direct=direct)
    np.testing.assert_array_equal(model.predict(features[:200]), bundle.predict_proba(features[:200]))


@pytest.mark.unit
def test_direct_call_is_refused_when_it_disagrees_with_the_wrapper(bundle: ModelBundle) -> None:
    def shifted(rows: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        return bundle.predict_proba(rows) + np.float32(1e-7)

    assert direct_checked(bundle.booster, shifted, len(FEATURES)) is None
    assert direct_checked(bundle.booster, bundle.predict_proba, len(FEATURES) - 1) is None  # width mismatch


@pytest.mark.unit
def test_hot_route_json_accepts_nan_tokens_for_the_contract_to_reject_and_refuses_garbage() -> None:
    assert math.isnan(decode_json(json.dumps({"V1": math.nan}).encode())["V1"])
    with pytest.raises(UnprocessableInput):
        decode_json(b"{not json")
    match = INFER_PATH.fullmatch("/v2/models/fraud-detector/versions/7/infer")
    assert match is not None and (match["name"], match["version"]) == ("fraud-detector", "7")
    assert INFER_PATH.fullmatch("/v2/models/fraud-detector/ready") is None


@pytest.mark.integration
def test_single_row_requests_score_like_the_booster(
    service: ScoringProcess, bundle: ModelBundle, features: npt.NDArray[np.float32]
) -> None:
    """One row per request is the compiled-trees path in the service: OIP REST must equal the booster."""
    rows = features[:20]
    expected = bundle.predict_proba(rows)
    with httpx.Client(timeout=10) as client:
        for row, want in zip(rows, expected, strict=True):
            body = {"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 30], "data": row.tolist()}]}
            response = client.post(f"{service.url}/v2/models/{MODEL}/infer", json=body)
            assert response.status_code == 200, response.text
            assert response.json()["outputs"][0]["data"][0] == pytest.approx(float(want), abs=1e-6)


@pytest.mark.integration
def test_hot_routes_name_the_problem_of_a_body_that_is_not_the_documented_shape(service: ScoringProcess) -> None:
    bodies: list[object] = [[], {"tx": []}, "text"]
    for body in bodies:
        response = httpx.post(f"{service.url}/score", json=body, timeout=10)
        assert response.status_code == 400, response.text
        assert response.json()["field"] == "transactions"
    assert httpx.post(f"{service.url}/score", content=b"\xff").status_code == 422
    assert httpx.post(f"{service.url}/v2/models/{MODEL}/versions/nope/infer", json={"inputs": []}).status_code == 404


@pytest.mark.integration
def test_oip_binary_tensor_extension_on_the_hot_route(
    service: ScoringProcess, features: npt.NDArray[np.float32]
) -> None:
    raw = np.ascontiguousarray(features[:3], dtype="<f4").tobytes()
    header = json.dumps({"inputs": [{"name": "input", "datatype": "FP32", "shape": [3, 30],
                                     "parameters": {"binary_data_size": len(raw)}}]}).encode()  # fmt: skip
    response = httpx.post(f"{service.url}/v2/models/{MODEL}/infer", content=header + raw,
                          headers={"Inference-Header-Content-Length": str(len(header))}, timeout=10)  # fmt: skip
    assert response.status_code == 200, response.text
    assert response.json()["outputs"][0]["shape"] == [3]
