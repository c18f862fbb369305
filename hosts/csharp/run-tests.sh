#!/usr/bin/env bash
# Build the C# host from source into build/hosts/csharp/ (build.sh), replay the given conformance vectors
# through it, then run the memory check. Exit 0 only when everything passes; 77 when the toolchain is missing.
#   hosts/csharp/run-tests.sh [--bundle NAME=PATH]... [--ort LIB] [--no-memcheck] VECTORS_JSON...
set -u
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
out="${QUALS_CSHARP_BUILD:-$repo/build/hosts/csharp}"

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

QUALS_CSHARP_BUILD="$out" "$here/build.sh" || exit $?   # 77 when mono/mcs is missing

status=0
cd "$repo"
if [ ${#vectors[@]} -gt 0 ]; then
    mono "$out/quals-csharp.exe" conformance --repo "$repo" "${conf_args[@]}" "${ort_args[@]}" "${vectors[@]}" || status=1
fi
if [ $memcheck -eq 1 ]; then
    mono "$out/quals-csharp.exe" memcheck --model "$bart" --records 1000 --margin-mb 20 "${ort_args[@]}" || status=1
fi
exit $status
