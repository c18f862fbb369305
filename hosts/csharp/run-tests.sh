#!/usr/bin/env bash
# Build the C# host from source into build/hosts/csharp/, replay the given conformance vectors through it,
# then run the memory check. Exit 0 only when everything passes; 77 when the toolchain is missing.
#   hosts/csharp/run-tests.sh [--bundle NAME=PATH]... [--ort LIB] [--no-memcheck] VECTORS_JSON...
set -u
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
out="$repo/build/hosts/csharp"

for tool in mcs mono; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "run-tests.sh: '$tool' not found; install Mono (apt-get install -y --no-install-recommends mono-devel) to build and test the C# host" >&2
        exit 77
    fi
done

conf_args=()
bart="$repo/build/test-bundles/v7/bundle-bart"  # the memory check's bundle: the tiny BART, as --bundle bart=PATH names it
vectors=()
memcheck=1
ort_args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --bundle) conf_args+=(--bundle "$2"); case "$2" in bart=*) bart="${2#bart=}" ;; esac; shift 2 ;;
        --ort) ort_args=(--ort "$2"); shift 2 ;;
        --no-memcheck) memcheck=0; shift ;;
        -h|--help) sed -n '2,4p' "$0"; exit 0 ;;
        *) vectors+=("$1"); shift ;;
    esac
done

mkdir -p "$out"
mapfile -t sources < <(find "$here/src" "$here/cli" -name '*.cs' | sort)
echo "building $out/quals-csharp.exe from ${#sources[@]} files" >&2
if ! mcs -langversion:7 -unsafe -optimize+ -nologo -warn:4 -out:"$out/quals-csharp.exe" "${sources[@]}" > "$out/build.log" 2>&1; then
    cat "$out/build.log" >&2
    echo "run-tests.sh: build failed" >&2
    exit 1
fi

status=0
cd "$repo"
if [ ${#vectors[@]} -gt 0 ]; then
    mono "$out/quals-csharp.exe" conformance --repo "$repo" "${conf_args[@]}" "${ort_args[@]}" "${vectors[@]}" || status=1
fi
if [ $memcheck -eq 1 ]; then
    mono "$out/quals-csharp.exe" memcheck --model "$bart" --records 1000 --margin-mb 20 "${ort_args[@]}" || status=1
fi
exit $status
