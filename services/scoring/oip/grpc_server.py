"""OIP v2 over gRPC (``inference.GRPCInferenceService``), served by grpc.aio inside the BentoML worker.

Why here: BentoML 1.4's ``@bentoml.service`` cannot serve gRPC (``serve-grpc`` rejects it, upstream
issue #5607), so the worker starts this server on its own event loop next to the HTTP server. Both
protocols therefore share one model, one micro-batcher and one set of metrics.

Responses carry tensors in ``raw_output_contents`` (what tritonclient reads); requests may use
typed ``contents`` or ``raw_input_contents``.
"""

from __future__ import annotations

import logging
from typing import Any

import grpc

from ..engine import ScoringEngine
from ..errors import InvalidInput, ScoringError, grpc_code
from . import tensors as T
from .generated import grpc_predict_v2_pb2 as pb
from .generated import grpc_predict_v2_pb2_grpc as pb_grpc
from .http_app import SERVER_NAME, SERVER_VERSION

log = logging.getLogger(__name__)


def decode_inputs(request: Any, max_elements: int) -> list[T.Tensor]:
    raw = list(request.raw_input_contents)
    if raw and len(raw) != len(request.inputs):
        raise InvalidInput("raw_input_contents", f"has {len(raw)} entries for {len(request.inputs)} inputs")
    decoded: list[T.Tensor] = []
    for i, tensor in enumerate(request.inputs):
        name, shape = tensor.name, tuple(tensor.shape)
        T.check_element_limit(name, list(shape), max_elements)
        if raw:
            if tensor.datatype == "BYTES":
                decoded.append(T.bytes_from_raw(name, shape, raw[i]))
            else:
                decoded.append(T.numeric_from_raw(name, tensor.datatype, shape, raw[i]))
        elif tensor.datatype == "BYTES":
            decoded.append(T.bytes_from_list(name, shape, list(tensor.contents.bytes_contents)))
        elif tensor.datatype == "FP64":
            decoded.append(T.numeric_from_list(name, "FP64", shape, tensor.contents.fp64_contents))
        else:
            decoded.append(T.numeric_from_list(name, tensor.datatype, shape, tensor.contents.fp32_contents))
    return decoded


class InferenceServicer(pb_grpc.GRPCInferenceServiceServicer):
    def __init__(self, engine: ScoringEngine) -> None:
        self.engine = engine

    async def _abort(self, context: grpc.aio.ServicerContext[Any, Any], error: ScoringError) -> None:
        await context.abort(grpc_code(error), str(error))

    async def ServerLive(self, request: Any, context: Any) -> Any:
        return pb.ServerLiveResponse(live=True)

    async def ServerReady(self, request: Any, context: Any) -> Any:
        return pb.ServerReadyResponse(ready=self.engine.ready)

    async def ServerMetadata(self, request: Any, context: Any) -> Any:
        return pb.ServerMetadataResponse(name=SERVER_NAME, version=SERVER_VERSION, extensions=[])

    async def ModelReady(self, request: Any, context: Any) -> Any:
        try:
            self.engine.check_model_name(request.name, request.version)
        except ScoringError:
            return pb.ModelReadyResponse(ready=False)
        return pb.ModelReadyResponse(ready=True)

    async def ModelMetadata(self, request: Any, context: Any) -> Any:
        try:
            model = self.engine.check_model_name(request.name, request.version)
        except ScoringError as e:
            await self._abort(context, e)
            raise  # unreachable: abort raises
        meta = T.model_metadata(model.name, model.version)
        tensor = pb.ModelMetadataResponse.TensorMetadata
        return pb.ModelMetadataResponse(
            name=meta["name"],
            versions=meta["versions"],
            platform=meta["platform"],
            inputs=[tensor(**t) for t in meta["inputs"]],
            outputs=[tensor(**t) for t in meta["outputs"]],
        )

    async def ModelInfer(self, request: Any, context: Any) -> Any:
        try:
            with self.engine.observe("infer", "grpc"):
                self.engine.check_model_name(request.model_name, request.model_version)
                matrix, ids = T.features_and_ids(
                    decode_inputs(request, self.engine.config.tensor_element_limit), self.engine.config.max_batch
                )
                params = request.parameters
                wanted = params[T.REASONS_PARAMETER].string_param if T.REASONS_PARAMETER in params else None
                explain = T.wants_fraud_reasons(wanted)
                result = await self.engine.infer(
                    request.model_name, request.model_version, matrix, explain_fraud=explain
                )
        except ScoringError as e:
            await self._abort(context, e)
            raise
        n = len(result.proba)
        output = pb.ModelInferResponse.InferOutputTensor
        outputs = [
            output(name=T.PROBABILITY_OUTPUT, datatype="FP32", shape=[n]),
            output(name=T.DECISION_OUTPUT, datatype="INT32", shape=[n]),
        ]
        raw = [result.proba.astype("<f4").tobytes(), result.decision.astype("<i4").tobytes()]
        if ids is not None:
            outputs.append(output(name=T.ID_OUTPUT, datatype="BYTES", shape=[n]))
            raw.append(T.encode_bytes([i.encode() for i in ids]))
        if result.reasons is not None:
            outputs.append(output(name=T.REASONS_OUTPUT, datatype="BYTES", shape=[n]))
            raw.append(T.encode_bytes([r.encode() for r in T.reasons_json(result.reasons)]))
        response = pb.ModelInferResponse(
            model_name=result.model.name,
            model_version=result.model.version,
            id=request.id,
            outputs=outputs,
            raw_output_contents=raw,
        )
        if self.engine.config.colour:
            response.parameters[T.COLOUR_PARAMETER].string_param = self.engine.config.colour
        return response


SERVICE_NAME = "inference.GRPCInferenceService"
_BACKGROUND: set[Any] = set()


async def _serve_health_when_ready(engine: ScoringEngine, health: Any) -> None:
    """Flip the standard gRPC health service (what Kubernetes ``grpc:`` probes call) to SERVING once
    the model is ready; it stays NOT_SERVING while loading or after a failed load."""
    import asyncio

    from grpc_health.v1 import health_pb2

    while not engine.ready:
        await asyncio.sleep(0.25)
    for name in ("", SERVICE_NAME):
        await health.set(name, health_pb2.HealthCheckResponse.SERVING)


async def start_grpc_server(
    engine: ScoringEngine, host: str, port: int, max_message_bytes: int = 16 * 1024 * 1024
) -> grpc.aio.Server:
    """Start serving on ``host:port`` on the running event loop; raise if the port cannot be bound.

    Also serves ``grpc.health.v1.Health`` (NOT_SERVING until the model is ready)."""
    import asyncio

    from grpc_health.v1 import health_pb2, health_pb2_grpc
    from grpc_health.v1.health import aio as health_aio

    # A 10,000 x 30 FP64 batch is 2.4 MB; larger messages are refused by grpc itself (RESOURCE_EXHAUSTED).
    max_message = max_message_bytes
    age_ms = int(engine.config.grpc_max_connection_age_s * 1000)
    server = grpc.aio.server(
        options=[
            ("grpc.max_receive_message_length", max_message),
            ("grpc.max_send_message_length", max_message),
            # a bounded connection age makes clients re-resolve and follow a blue-green switch
            # (house style 21); the grace lets in-flight calls finish on the old connection
            ("grpc.max_connection_age_ms", age_ms),
            ("grpc.max_connection_age_grace_ms", 10_000),
        ]
    )
    pb_grpc.add_GRPCInferenceServiceServicer_to_server(InferenceServicer(engine), server)  # type: ignore[no-untyped-call]
    health = health_aio.HealthServicer()
    for name in ("", SERVICE_NAME):
        await health.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    task = asyncio.get_running_loop().create_task(_serve_health_when_ready(engine, health))
    _BACKGROUND.add(task)  # the loop keeps only weak references to tasks
    task.add_done_callback(_BACKGROUND.discard)
    address = f"{host}:{port}"
    if server.add_insecure_port(address) == 0:
        raise RuntimeError(f"gRPC server could not bind {address}")
    await server.start()
    log.info("OIP v2 gRPC server listening on %s", address)
    return server
