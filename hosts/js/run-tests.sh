#!/usr/bin/env bash
# Tests the JavaScript host: installs its npm packages from the lockfile when node_modules is absent, replays
# conformance vectors on onnxruntime-node (and one file on onnxruntime-web, the browser's engine, in Node),
# checks the refusals (tampered bundle, missing file, bad version, unsupported tokenizer, empty inputs) and
# memory over a few hundred records in one process.
#
#   hosts/js/run-tests.sh [--bundle NAME=PATH]... [VECTORS_JSON...]
#
# Without vector files it replays every build/conformance/*/vectors.json. Each file's bundle is its
# `bundle.path` relative to the repository root unless --bundle NAME=PATH says otherwise.
# Exit: 0 all passed, 1 a failure, 77 Node (>= 20) or npm missing, or its packages cannot be installed.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

overrides=()
files=()
# the bundle of the refusal and memory checks: the tiny BART, as `--bundle bart=PATH` names it
bart="build/test-bundles/v7/bundle-bart"
while [ $# -gt 0 ]; do
  case "$1" in
    --bundle) overrides+=(--bundle "$2"); case "$2" in bart=*) bart="${2#bart=}" ;; esac; shift 2 ;;
    --bundle=*) overrides+=(--bundle "${1#--bundle=}"); case "$1" in --bundle=bart=*) bart="${1#--bundle=bart=}" ;; esac
      shift ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) files+=("$(readlink -f "$1")"); shift ;;
  esac
done

if ! command -v node >/dev/null 2>&1; then
  echo "hosts/js: node not found; install Node.js 20 or newer (and npm) to test the JavaScript host" >&2
  exit 77
fi
major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$major" -lt 20 ]; then
  echo "hosts/js: node $(node --version) is too old; the JavaScript host needs Node.js 20 or newer" >&2
  exit 77
fi
# absent, or older than the lockfile (a package was bumped): npm ci (re)installs exactly what the lockfile says
if [ ! -d "$here/node_modules" ] || [ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "hosts/js: npm not found; it installs the host's packages (npm ci in hosts/js)" >&2
    exit 77
  fi
  # .npmrc sets ignore-scripts: onnxruntime-node's install script would fetch CUDA libraries from NuGet
  if ! (cd "$here" && npm ci --no-audit --no-fund >&2); then
    echo "hosts/js: npm ci failed (is the npm registry reachable?)" >&2
    rm -rf "$here/node_modules"
    exit 77
  fi
fi
echo "hosts/js: node $(node --version), $(node -p 'require("'"$here"'/node_modules/onnxruntime-node/package.json").version' 2>/dev/null | sed 's/^/onnxruntime-node /')" >&2

cd "$root"
if [ ${#files[@]} -eq 0 ]; then
  for f in build/conformance/*/vectors.json; do [ -f "$f" ] && files+=("$f"); done
fi
if [ ${#files[@]} -eq 0 ]; then echo "hosts/js: no vectors given and none in build/conformance/ (make conformance)" >&2; exit 1; fi

status=0
node "$here/tools/conformance.js" --root "$root" "${overrides[@]}" "${files[@]}" || status=1
# the browser's engine (onnxruntime-web, WebAssembly), in Node: the page's code path, on the tiny BART's vectors
# (else the first file). Its kernels round differently from the native build's: ~1e-5 on the tiny bundles.
web="${files[0]}"
for f in "${files[@]}"; do case "$f" in */bart/vectors.json) web="$f" ;; esac; done
node "$here/tools/conformance.js" --backend web --root "$root" "${overrides[@]}" "$web" || status=1
node "$here/tools/refusals.js" "$bart" || status=1
node --expose-gc "$here/tools/memcheck.js" --model "$bart" --records 300 --margin-mb 20 || status=1
[ $status -eq 0 ] && echo "hosts/js: all passed" || echo "hosts/js: FAILED" >&2
exit $status
