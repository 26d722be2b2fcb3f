#!/usr/bin/env bash
# Validates deploy/kubernetes without a cluster: renders the base and every overlay with kustomize
# and checks each object with kubeconform -strict against the JSON schemas of Kubernetes and of
# the CRDs the overlays use (KEDA, prometheus-operator). An unknown field, a wrong type or a kind
# without a schema fails it; exit 1 on any problem.
#
# Everything comes from the Go module proxy, pinned, into a cache (CENTAUR_DEPLOY_CACHE, default
# ~/.cache/centaur-deploy), once: kubeconform and kustomize built with `go install`; the schemas
# written by scripts/deploy/kubernetes-schemas.ts from the OpenAPI document of the k8s.io/kubernetes
# module and the CRD files of the github.com/kedacore/keda/v2 and
# github.com/prometheus-operator/prometheus-operator modules. Later runs use the cache only.
# Needs Go (/usr/local/go/bin/go or on PATH) and Node with the project's node_modules.
set -euo pipefail
cd "$(dirname "$0")/../.."

KUBECONFORM_VERSION=v0.8.0
KUSTOMIZE_VERSION=v5.8.2        # v5.8.3 needs Go 1.27
KUBERNETES_VERSION=1.35.4
KEDA_VERSION=v2.20.2            # v2.21 needs Go 1.27 even to unpack its module
PROMETHEUS_OPERATOR_VERSION=v0.85.0

CACHE="${CENTAUR_DEPLOY_CACHE:-$HOME/.cache/centaur-deploy}"
TOOLS="$CACHE/tools"
SCHEMAS="$CACHE/schemas/k8s-$KUBERNETES_VERSION-keda-$KEDA_VERSION-prometheus-operator-$PROMETHEUS_OPERATOR_VERSION"
KUBECONFORM="$TOOLS/kubeconform-$KUBECONFORM_VERSION/kubeconform"
KUSTOMIZE="$TOOLS/kustomize-$KUSTOMIZE_VERSION/kustomize"
RENDERS=(deploy/kubernetes/base deploy/kubernetes/overlays/keda deploy/kubernetes/overlays/hpa)

go_env() {
  if ! command -v go >/dev/null 2>&1; then export PATH="$PATH:/usr/local/go/bin"; fi
  command -v go >/dev/null 2>&1 || { echo "validate-kubernetes: Go is needed to install kubeconform and kustomize" >&2; exit 1; }
  # The modules and build files stay in the cache folder, removed once what they made is there.
  export GOMODCACHE="$CACHE/go/mod" GOCACHE="$CACHE/go/build" GOFLAGS=-modcacherw GOTOOLCHAIN=local
}

install_tool() { # <binary path> <package@version>
  [[ -x "$1" ]] && return
  go_env
  echo "validate-kubernetes: installing $2"
  local dir
  dir="$(dirname "$1")"
  rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
  GOBIN="$dir.tmp" go install "$2"
  rm -rf "$dir" && mv "$dir.tmp" "$dir"
}

module_dir() { # <module@version> → the folder go unpacked it into
  go mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p'
}

make_schemas() {
  [[ -f "$SCHEMAS/.complete" ]] && return
  go_env
  echo "validate-kubernetes: writing the schemas of Kubernetes $KUBERNETES_VERSION, KEDA $KEDA_VERSION, prometheus-operator $PROMETHEUS_OPERATOR_VERSION"
  local k8s keda promop
  k8s="$(module_dir "k8s.io/kubernetes@v$KUBERNETES_VERSION")"
  keda="$(module_dir "github.com/kedacore/keda/v2@$KEDA_VERSION")"
  promop="$(module_dir "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION")"
  for dir in "$k8s" "$keda" "$promop"; do [[ -d "$dir" ]] || { echo "validate-kubernetes: a module did not download" >&2; exit 1; }; done
  rm -rf "$SCHEMAS.tmp"
  eval "$(bash scripts/node/ensure-node.sh --env)"
  node --import tsx scripts/deploy/kubernetes-schemas.ts \
    --swagger "$k8s/api/openapi-spec/swagger.json" --kubernetes-version "$KUBERNETES_VERSION" --out "$SCHEMAS.tmp" \
    --crd "$keda/config/crd/bases/keda.sh_scaledobjects.yaml" \
    --crd "$keda/config/crd/bases/keda.sh_triggerauthentications.yaml" \
    --crd "$promop/example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml" \
    --crd "$promop/example/prometheus-operator-crd/monitoring.coreos.com_podmonitors.yaml" \
    --crd "$promop/example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml"
  touch "$SCHEMAS.tmp/.complete"
  rm -rf "$SCHEMAS" && mv "$SCHEMAS.tmp" "$SCHEMAS"
}

install_tool "$KUBECONFORM" "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION"
install_tool "$KUSTOMIZE" "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
make_schemas
# What the Go commands downloaded and built is no longer needed (~1 GiB); the tools and schemas stay.
if [[ -d "$CACHE/go" ]]; then chmod -R u+w "$CACHE/go" && rm -rf "$CACHE/go"; fi

status=0
for dir in "${RENDERS[@]}"; do
  echo "== $dir"
  rendered="$("$KUSTOMIZE" build "$dir")" || { echo "validate-kubernetes: kustomize build $dir failed" >&2; status=1; continue; }
  printf '%s\n' "$rendered" | "$KUBECONFORM" -strict -summary -kubernetes-version "$KUBERNETES_VERSION" \
    -schema-location "$SCHEMAS/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json" \
    -schema-location "$SCHEMAS/crds/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json" \
    - || status=1
done
exit "$status"
