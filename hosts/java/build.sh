#!/usr/bin/env bash
# Builds the Java host from source into build/hosts/java/ (classes, quals-java-VERSION.jar with Maven, and
# libquals_ort_jni.so). Exit 1: build failed; 77: no toolchain (JDK 17+ with jni.h, gcc).
#
# With `mvn` on PATH the build is pom.xml's (`mvn package`), run without network:
#   - from the Debian packages' repository /usr/share/maven-repo when it holds the pom's plugins
#     (see debian-maven-settings.xml), into a local repository under build/hosts/java/m2;
#   - otherwise offline (-o) from ~/.m2, which works once the plugins have been downloaded there.
# If Maven cannot resolve its plugins, or `mvn` is missing, it compiles the same sources with javac and
# builds the glue with native/build.sh, the two steps that the pom runs.
# QUALS_JAVA_BUILDER=maven|javac forces one of them (maven then fails instead of falling back).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${QUALS_JAVA_BUILD:-$root/build/hosts/java}"
builder="${QUALS_JAVA_BUILDER:-auto}"
for tool in javac java gcc; do
  command -v "$tool" >/dev/null 2>&1 || { echo "hosts/java: '$tool' not found; install a JDK 17+ and gcc" >&2; exit 77; }
done
JAVA_HOME="${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")}"
export JAVA_HOME
[ -f "$JAVA_HOME/include/jni.h" ] || { echo "hosts/java: no jni.h under JAVA_HOME=$JAVA_HOME/include (install a full JDK)" >&2; exit 77; }
mkdir -p "$out"
rm -rf "$out/classes"

maven() {
  local args=(-B -q -Dstyle.color=never -f "$here/pom.xml" -Dquals.build="$out")
  if [ -d /usr/share/maven-repo/org/codehaus/mojo/exec-maven-plugin/3.1.0 ]; then
    args+=(-s "$here/debian-maven-settings.xml" -Dmaven.repo.local="$out/m2")
  else
    args+=(-o)
  fi
  mvn "${args[@]}" package > "$out/maven.log" 2>&1
}

if [ "$builder" != javac ] && command -v mvn >/dev/null 2>&1; then
  if maven; then
    echo "built $out/classes and $out/libquals_ort_jni.so with Maven (pom.xml)"
    exit 0
  fi
  # plugins that cannot be resolved without network: fall back to javac; anything else is a build failure
  if [ "$builder" = maven ] || ! grep -qE 'PluginResolutionException|could not be resolved|offline mode|Could not find artifact' "$out/maven.log"; then
    cat "$out/maven.log" >&2
    echo "hosts/java: Maven build failed" >&2
    exit 1
  fi
  echo "hosts/java: Maven cannot resolve pom.xml's plugins without network ($out/maven.log); building with javac" >&2
  rm -rf "$out/classes"
elif [ "$builder" = maven ]; then
  echo "hosts/java: QUALS_JAVA_BUILDER=maven but 'mvn' not found" >&2
  exit 77
fi

javac --release 17 -Xlint:all,-serial -Werror -d "$out/classes" $(find "$here/src" -name '*.java')
"$here/native/build.sh" "$out" "$JAVA_HOME"
echo "built $out/classes and $out/libquals_ort_jni.so with javac"
