#!/usr/bin/env bash
# Builds the Java host from source into build/hosts/java/ (classes + libquals_ort_jni.so). Exit 77: no toolchain.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${QUALS_JAVA_BUILD:-$root/build/hosts/java}"
for tool in javac java gcc; do
  command -v "$tool" >/dev/null 2>&1 || { echo "hosts/java: '$tool' not found; install a JDK 17+ and gcc" >&2; exit 77; }
done
JAVA_HOME="${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")}"
[ -f "$JAVA_HOME/include/jni.h" ] || { echo "hosts/java: no jni.h under JAVA_HOME=$JAVA_HOME/include (install a full JDK)" >&2; exit 77; }
mkdir -p "$out"
rm -rf "$out/classes"
javac --release 17 -Xlint:all,-serial -Werror -d "$out/classes" $(find "$here/src" -name '*.java')
# the exp kernel alone gets -ffast-math (vector expf from libmvec); everything else is plain C
gcc -O3 -ffast-math -march=native -fPIC -Wall -Werror -c "$here/native/quals_fast_exp.c" -o "$out/quals_fast_exp.o"
gcc -O2 -Wall -Wextra -Wno-unused-parameter -Werror -shared -fPIC -I"$JAVA_HOME/include" -I"$JAVA_HOME/include/linux" \
  "$here/native/quals_ort_jni.c" "$out/quals_fast_exp.o" -ldl -lmvec -lm -o "$out/libquals_ort_jni.so"
echo "built $out/classes and $out/libquals_ort_jni.so"
