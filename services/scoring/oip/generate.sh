#!/usr/bin/env bash
# Regenerate the Python gRPC stubs of the Open Inference Protocol from grpc_predict_v2.proto.
#
# grpcio-tools is a build-time tool only (not a runtime dependency), so it runs from a throwaway
# environment. Pin it no newer than the protobuf runtime in uv.lock: the generated code refuses to
# import under an older runtime than the protoc that produced it.
#   bash services/scoring/oip/generate.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/generated"
GRPCIO_TOOLS_VERSION="${GRPCIO_TOOLS_VERSION:-1.75.1}"
mkdir -p "$out"
uvx --from "grpcio-tools==${GRPCIO_TOOLS_VERSION}" python -m grpc_tools.protoc \
  -I "$here" --python_out="$out" --pyi_out="$out" --grpc_python_out="$out" "$here/grpc_predict_v2.proto"
# protoc writes an absolute import (`import grpc_predict_v2_pb2`); make it package-relative.
sed -i 's/^import grpc_predict_v2_pb2 as /from . import grpc_predict_v2_pb2 as /' "$out/grpc_predict_v2_pb2_grpc.py"
touch "$out/__init__.py"
echo "generated: $(ls "$out")"
