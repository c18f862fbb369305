#!/usr/bin/env bash
# Builds the Java host from source into build/hosts/java/, replays conformance vectors, checks the refusals
# (tampered bundle, bad version, unsupported tokenizer, empty inputs) and native memory over 1,000 records.
#
#   hosts/java/run-tests.sh [--bundle NAME=PATH]... [VECTORS_JSON...]
#
# Without vector files it replays every build/conformance/*/vectors.json. Each file's bundle is its
# `bundle.path` relative to the repository root unless --bundle NAME=PATH says otherwise.
# Exit: 0 all passed, 1 a failure, 77 toolchain (JDK, gcc) or ONNX Runtime library missing.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${QUALS_JAVA_BUILD:-$root/build/hosts/java}"
export QUALS_JAVA_BUILD="$out"

overrides=()
files=()
# the bundle of the refusal and memory checks: the tiny BART, as `--bundle bart=PATH` names it
bart="build/test-bundles/v7/bundle-bart"
while [ $# -gt 0 ]; do
  case "$1" in
    --bundle) overrides+=(--bundle "$2"); case "$2" in bart=*) bart="${2#bart=}" ;; esac; shift 2 ;;
    --bundle=*) overrides+=(--bundle "${1#--bundle=}"); case "$1" in --bundle=bart=*) bart="${1#--bundle=bart=}" ;; esac
      shift ;;
    *) files+=("$(readlink -f "$1")"); shift ;;
  esac
done

"$here/build.sh" || exit $?   # 77 when javac/java/gcc/jni.h is missing
cd "$root"
run() { java -Djava.library.path="$out" -cp "$out/classes" "$@"; }

ort="$(run io.quals.ort.OrtLibrary)"; rc=$?
if [ $rc -ne 0 ]; then echo "hosts/java: no ONNX Runtime library (set QUALS_ONNXRUNTIME_LIB)" >&2; exit 77; fi
echo "hosts/java: ONNX Runtime library $ort"

if [ ${#files[@]} -eq 0 ]; then
  for f in build/conformance/*/vectors.json; do [ -f "$f" ] && files+=("$f"); done
fi
if [ ${#files[@]} -eq 0 ]; then echo "hosts/java: no vectors given and none in build/conformance/ (make conformance)" >&2; exit 1; fi

status=0
run io.quals.cli.Conformance --root "$root" "${overrides[@]}" "${files[@]}" || status=1
run io.quals.cli.ErrorChecks "$bart" || status=1
# A fixed, pre-touched heap, so that RSS growth measures native leaks and not the JVM growing its heap.
java -Xms256m -Xmx256m -XX:+AlwaysPreTouch -Djava.library.path="$out" -cp "$out/classes" \
  io.quals.cli.MemoryCheck "$bart" 2000 20 || status=1
[ $status -eq 0 ] && echo "hosts/java: all passed" || echo "hosts/java: FAILED" >&2
exit $status
