#!/usr/bin/env bash
# Install everything the local stack, the tests and the demo need, pinned and cached.
#
#   stack/install.sh [all|apt|uv|python|checkov|mlserver|go|pause|maven|pulumi|images]...     (default: all)
#
# Idempotent: each step checks a stamp (the hash of what pins it) and does nothing when the cache
# already matches. Cache: $LFD_CACHE (default ~/.cache/live-fraud-detector), shared by all clones.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
# shellcheck source=versions.env
source "$here/versions.env"
cache="${LFD_CACHE:-$HOME/.cache/live-fraud-detector}"
bin="$cache/bin"
mkdir -p "$bin" "$cache/stamps"

started=$SECONDS
# Each line carries the seconds since set-up began, so a slow cold step shows where the time went.
log() { printf '\033[1m[setup +%ss]\033[0m %s\n' "$((SECONDS - started))" "$*"; }
stamp_ok() { [[ -f "$cache/stamps/$1" && "$(cat "$cache/stamps/$1")" == "$2" ]]; }
stamp_set() { printf '%s' "$2" >"$cache/stamps/$1"; }
hash_of() { cat "$@" | sha256sum | cut -c1-16; }

step_apt() {
  local missing=()
  command -v prometheus >/dev/null || missing+=(prometheus)
  command -v promtool >/dev/null || missing+=(prometheus)
  command -v wrk >/dev/null || missing+=(wrk)
  command -v openssl >/dev/null || missing+=(openssl)
  command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
  command -v mvn >/dev/null || missing+=(maven)
  # headless Chromium: the drift test opens Evidently's HTML report and takes a screenshot
  command -v chromium >/dev/null || missing+=(chromium)
  # The real node (`lfd stack up node`) and its images: Debian 12's containerd 1.6 / runc 1.1 / CNI plugins
  # 1.1 work with kubelet 1.35 (see docs/operator.md); buildah + debootstrap build our images, no registry.
  command -v containerd >/dev/null || missing+=(containerd)
  command -v runc >/dev/null || missing+=(runc)
  [[ -x /usr/lib/cni/bridge ]] || missing+=(containernetworking-plugins)
  command -v buildah >/dev/null || missing+=(buildah)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  command -v iptables >/dev/null || missing+=(iptables)
  command -v conntrack >/dev/null || missing+=(conntrack)
  command -v ip >/dev/null || missing+=(iproute2)
  if ((${#missing[@]})); then
    log "apt: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # The Debian package starts a system Prometheus where systemd runs; ours is started by `lfd stack`.
    (systemctl disable --now prometheus prometheus-node-exporter 2>/dev/null || true)
  else
    log "apt: prometheus, promtool, wrk, openssl, java, maven, chromium, containerd, runc, CNI plugins, buildah present"
  fi
}

uv_bin() {
  if command -v uv >/dev/null && [[ "$(uv --version | awk '{print $2}')" == "$UV_VERSION" ]]; then
    command -v uv
  else
    echo "$cache/uv-$UV_VERSION/bin/uv"
  fi
}

step_uv() {
  local uv; uv="$(uv_bin)"
  if [[ ! -x "$uv" ]]; then
    log "uv: installing $UV_VERSION into $cache/uv-$UV_VERSION"
    python3 -m venv "$cache/uv-$UV_VERSION"
    "$cache/uv-$UV_VERSION/bin/pip" install -q "uv==$UV_VERSION"
  fi
  log "uv: $("$(uv_bin)" --version)"
}

step_python() {
  local uv; uv="$(uv_bin)"
  log "python: main environment (.venv) from uv.lock"
  (cd "$repo" && "$uv" sync --frozen --extra main --group dev --group test --group cloud --quiet)
  log "python: streaming environment (.venv-streaming, PyFlink) from uv.lock"
  (cd "$repo" && UV_PROJECT_ENVIRONMENT=.venv-streaming "$uv" sync --frozen --extra streaming --group dev --quiet)
}

go_build() {  # [LDFLAGS=...] go_build <module dir> <binary>:<package>...
  local dir="$here/go/$1"; shift
  local key; key="go-$(basename "$dir")"
  local ldflags="${LDFLAGS:-}"
  local want; want="$( (cat "$dir/go.mod" "$dir/go.sum"; cat "$dir"/*.go 2>/dev/null; echo "$ldflags") | sha256sum | cut -c1-16)"
  local all_present=1
  for spec in "$@"; do [[ -x "$bin/${spec%%:*}" ]] || all_present=0; done
  if ((all_present)) && stamp_ok "$key" "$want"; then
    log "go: $(basename "$dir") cached"
    return
  fi
  for spec in "$@"; do
    log "go: building ${spec%%:*} (${spec#*:}); a cold build takes minutes"
    (cd "$dir" && go build -ldflags="$ldflags" -o "$bin/${spec%%:*}" "${spec#*:}")
  done
  stamp_set "$key" "$want"
}

require_go() { command -v go >/dev/null || { echo "go is required (the machine's Go toolchain)" >&2; exit 1; }; }

go_prefetch() {
  # Every module directory's downloads at once. Alone, each `go build` downloads its modules one module
  # graph at a time before compiling (measured: long idle download phases, most of a 44 min cold set-up).
  local d pids=()
  for d in "$here"/go/*/; do
    (cd "$d" && go mod download) &
    pids+=($!)
  done
  local pid rc=0
  for pid in "${pids[@]}"; do wait "$pid" || rc=1; done
  return "$rc"
}

step_go() {
  require_go
  go_build etcd etcd:go.etcd.io/etcd/server/v3
  go_build kwok kwok:sigs.k8s.io/kwok/cmd/kwok
  go_build helm helm:helm.sh/helm/v3/cmd/helm
  # Stamp the release into the binaries (as the Kubernetes build does), so `kubectl version` and helm's
  # .Capabilities.KubeVersion report 1.35.x rather than v0.0.0-master.
  local minor; minor="$(echo "$KUBERNETES_VERSION" | cut -d. -f2)"
  local kv=""
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    kv+=" -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
  done
  LDFLAGS="$kv" go_build kubernetes \
    kube-apiserver:k8s.io/kubernetes/cmd/kube-apiserver \
    kube-controller-manager:k8s.io/kubernetes/cmd/kube-controller-manager \
    kube-scheduler:k8s.io/kubernetes/cmd/kube-scheduler \
    kubectl:k8s.io/kubernetes/cmd/kubectl \
    kubelet:k8s.io/kubernetes/cmd/kubelet \
    kube-proxy:k8s.io/kubernetes/cmd/kube-proxy
  step_pause
}

step_pause() {
  # The pods' sandbox image's only binary: static, so the image is `FROM scratch`.
  require_go
  CGO_ENABLED=0 LDFLAGS="-s -w" go_build pause pause:.
}

step_images() {
  # Our images for the real node (tests/node in `make test`), with buildah; each is skipped when its
  # content-hash-tagged archive exists. Niced: a cold build competes with whatever else runs on 2 cores.
  log "images: base (debootstrap), pause, scoring, operator; cached by content hash in $cache/images"
  (cd "$repo" && LFD_CACHE="$cache" nice -n 10 .venv/bin/lfd images build)
}

step_checkov() {
  # The manifest security scan: its own virtualenv from a hash-pinned lock (stack/checkov/README.md).
  local uv; uv="$(uv_bin)"
  local want; want="$(hash_of "$here/checkov/requirements.txt")"
  local venv="$cache/checkov-$want"
  if [[ -x "$venv/bin/checkov" ]] && stamp_ok checkov "$want" && [[ -L "$bin/checkov" ]]; then
    log "checkov: cached"
    return
  fi
  log "checkov: installing from stack/checkov/requirements.txt into $venv"
  "$uv" venv --quiet --python 3.11 "$venv"
  VIRTUAL_ENV="$venv" "$uv" pip sync --quiet --require-hashes "$here/checkov/requirements.txt"
  ln -sfn "$venv/bin/checkov" "$bin/checkov"
  stamp_set checkov "$want"
}

step_mlserver() {
  # The scoring benchmark's peer (Seldon MLServer + its XGBoost runtime): its own virtualenv from a
  # hash-pinned lock (stack/mlserver/README.md). Not in `all`: only `make bench-scoring` needs it.
  local uv; uv="$(uv_bin)"
  local want; want="$(hash_of "$here/mlserver/requirements.txt")"
  local venv="$cache/mlserver-$want"
  if [[ -x "$venv/bin/mlserver" ]] && stamp_ok mlserver "$want" && [[ -L "$bin/mlserver" ]]; then
    log "mlserver: cached"
    return
  fi
  log "mlserver: installing from stack/mlserver/requirements.txt into $venv"
  "$uv" venv --quiet --python 3.11 "$venv"
  VIRTUAL_ENV="$venv" nice -n 10 "$uv" pip sync --quiet --require-hashes "$here/mlserver/requirements.txt"
  ln -sfn "$venv/bin/mlserver" "$bin/mlserver"
  stamp_set mlserver "$want"
}

step_pulumi() {
  # The CLI: `go install ...@version` refuses (pkg/v3 carries replace directives), so a wrapper module pins it.
  LDFLAGS="-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION" \
    go_build pulumi pulumi:github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
  # The Kubernetes provider: its upstream main embeds files that `go generate` writes and the module zip
  # lacks, so stack/go/pulumi-kubernetes/main.go embeds schema.json (version set here) and
  # terraform-mapping.json, copied from the module into a build directory in the cache.
  local src="$here/go/pulumi-kubernetes" build="$cache/build/pulumi-kubernetes"
  local ldflags="-X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$PULUMI_KUBERNETES_VERSION"
  local want; want="$( (cat "$src/go.mod" "$src/go.sum" "$src/main.go"; echo "$ldflags") | sha256sum | cut -c1-16)"
  if [[ -x "$bin/pulumi-resource-kubernetes" ]] && stamp_ok go-pulumi-kubernetes "$want"; then
    log "go: pulumi-kubernetes cached"
    return
  fi
  log "go: building pulumi-resource-kubernetes $PULUMI_KUBERNETES_VERSION; a cold build takes ~7 min on 2 cores"
  rm -rf "$build" && mkdir -p "$build"
  cp "$src/go.mod" "$src/go.sum" "$src/main.go" "$build/"
  local module; module="$(cd "$build" && go mod download -json github.com/pulumi/pulumi-kubernetes/provider/v4 \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')"
  python3 - "$module/cmd/pulumi-resource-kubernetes" "$build" "$PULUMI_KUBERNETES_VERSION" <<'PY'
import json, sys
src, out, version = sys.argv[1:]
schema = json.load(open(f"{src}/schema.json"))
schema["version"] = version  # what upstream's generate.go does
json.dump(schema, open(f"{out}/schema.json", "w"), separators=(",", ":"))
json.dump(json.load(open(f"{src}/terraform-mapping.json")), open(f"{out}/terraform-mapping.json", "w"))
PY
  (cd "$build" && go build -ldflags="$ldflags" -o "$bin/pulumi-resource-kubernetes" .)
  stamp_set go-pulumi-kubernetes "$want"
}

step_maven() {
  local kafka_dir="$cache/kafka-$KAFKA_VERSION"
  # Pinned by the pom and the Kafka version only: other pins in versions.env must not re-download Kafka.
  local want; want="$( (cat "$here/maven/pom.xml"; echo "$KAFKA_VERSION") | sha256sum | cut -c1-16)"
  if stamp_ok maven-kafka "$want" && [[ -d "$kafka_dir/libs" ]]; then
    log "maven: Kafka $KAFKA_VERSION jars cached"
  else
    log "maven: Kafka $KAFKA_VERSION and its runtime dependencies"
    rm -rf "$kafka_dir/libs"
    mvn -q -B -f "$here/maven/pom.xml" dependency:copy-dependencies \
      -Dkafka.version="$KAFKA_VERSION" -DincludeScope=runtime -DoutputDirectory="$kafka_dir/libs"
    stamp_set maven-kafka "$want"
  fi
  local jar="$cache/flink/flink-sql-connector-kafka-$FLINK_KAFKA_CONNECTOR_VERSION.jar"
  if [[ -f "$jar" ]]; then
    log "maven: Flink Kafka connector $FLINK_KAFKA_CONNECTOR_VERSION cached"
  else
    log "maven: Flink Kafka connector $FLINK_KAFKA_CONNECTOR_VERSION"
    mvn -q -B dependency:copy \
      -Dartifact="org.apache.flink:flink-sql-connector-kafka:$FLINK_KAFKA_CONNECTOR_VERSION" \
      -DoutputDirectory="$cache/flink"
  fi
}

run_all() {
  # The same steps as listed one by one, overlapped where they wait on different things: the Go module
  # downloads (network) run while the Python, checkov and Maven steps do; the images (debootstrap, pip in
  # the builds: mostly network and disk, niced) build while Go compiles (CPU).
  require_go
  step_apt
  log "go: downloading the modules of stack/go/* in the background (log: $cache/go-prefetch.log)"
  go_prefetch >"$cache/go-prefetch.log" 2>&1 &
  local prefetch=$!
  step_uv
  step_python
  step_checkov
  step_maven
  step_pause
  log "images: building in the background while Go compiles (log: $cache/images.log)"
  step_images >"$cache/images.log" 2>&1 &
  local images=$!
  if ! wait "$prefetch"; then
    log "go: a module download failed:"; tail -20 "$cache/go-prefetch.log" >&2; exit 1
  fi
  log "go: modules downloaded"
  step_go
  step_pulumi
  log "images: waiting for the background build"
  if ! wait "$images"; then
    log "images: the build failed:"; tail -40 "$cache/images.log" >&2; exit 1
  fi
  tail -5 "$cache/images.log"
}

# A step left running in the background must not outlive a failed set-up.
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT

steps=("$@")
((${#steps[@]})) || steps=(all)
# `images` last: it runs `lfd` from .venv (python) and packs the pause binary (go); tests/node needs them.
# `mlserver` is not in `all`: only make bench-scoring needs it.
[[ " ${steps[*]} " == *" all "* ]] && steps=(all)
for s in "${steps[@]}"; do
  if [[ "$s" == all ]]; then run_all; else "step_$s"; fi
done
log "done in $((SECONDS - started))s; cache: $cache"
