#!/usr/bin/env bash
# Builds the JNI glue libquals_ort_jni.so into OUT_DIR with gcc. Called by ../build.sh and by ../pom.xml.
#   native/build.sh OUT_DIR [JAVA_HOME]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:?usage: native/build.sh OUT_DIR [JAVA_HOME]}"
jdk="${2:-${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")}}"
[ -f "$jdk/include/jni.h" ] || { echo "hosts/java: no jni.h under $jdk/include (install a full JDK)" >&2; exit 77; }
mkdir -p "$out"
# the exp kernel alone gets -ffast-math (vector expf from libmvec); everything else is plain C
gcc -O3 -ffast-math -march=native -fPIC -Wall -Werror -c "$here/quals_fast_exp.c" -o "$out/quals_fast_exp.o"
gcc -O2 -Wall -Wextra -Wno-unused-parameter -Werror -shared -fPIC -I"$jdk/include" -I"$jdk/include/linux" \
  "$here/quals_ort_jni.c" "$out/quals_fast_exp.o" -ldl -lmvec -lm -o "$out/libquals_ort_jni.so"
