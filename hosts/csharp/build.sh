#!/usr/bin/env bash
# Builds the C# host from source into build/hosts/csharp/quals-csharp.exe. Exit 1: build failed; 77: no
# toolchain (Mono: mono plus mcs, and xbuild or msbuild for the project file).
#
# The build is quals-csharp.csproj's, with Mono's msbuild, else xbuild (Debian's mono-devel ships xbuild).
# Without either it runs the same compiler command with mcs directly.
# QUALS_CSHARP_BUILDER=msbuild|xbuild|mcs forces one of them.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${QUALS_CSHARP_BUILD:-$root/build/hosts/csharp}"
builder="${QUALS_CSHARP_BUILDER:-}"

for tool in mcs mono; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "hosts/csharp: '$tool' not found; install Mono (apt-get install -y --no-install-recommends mono-devel) to build and test the C# host" >&2
        exit 77
    fi
done
if [ -z "$builder" ]; then
    for b in msbuild xbuild mcs; do command -v "$b" >/dev/null 2>&1 && { builder="$b"; break; }; done
elif ! command -v "$builder" >/dev/null 2>&1; then
    echo "hosts/csharp: QUALS_CSHARP_BUILDER=$builder but '$builder' not found" >&2
    exit 77
fi

mkdir -p "$out"
rm -f "$out/quals-csharp.exe"
case "$builder" in
    msbuild|xbuild)
        "$builder" /nologo /verbosity:minimal /p:Configuration=Release "/p:QualsBuild=$out" "$here/quals-csharp.csproj" \
            > "$out/build.log" 2>&1 ;;
    mcs)
        mapfile -t sources < <(find "$here/src" "$here/cli" -name '*.cs' | sort)
        mcs -langversion:7 -unsafe -optimize+ -nologo -warn:4 -out:"$out/quals-csharp.exe" "${sources[@]}" \
            > "$out/build.log" 2>&1 ;;
    *) echo "hosts/csharp: unknown QUALS_CSHARP_BUILDER=$builder (msbuild, xbuild or mcs)" >&2; exit 1 ;;
esac
rc=$?
if [ $rc -ne 0 ] || [ ! -f "$out/quals-csharp.exe" ]; then
    cat "$out/build.log" >&2
    echo "hosts/csharp: build with $builder failed" >&2
    exit 1
fi
echo "built $out/quals-csharp.exe with $builder" >&2
