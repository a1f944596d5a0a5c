#!/usr/bin/env bash
# Cross-compile the tests of each package directory given and run them under
# Wine (amd64). Package directories are relative to the repository root.
# Exits non-zero if any package's tests fail.
#
#   build.d/windows/run-wine.sh ./ ./tests/edsrzf
#
# Idempotent: installs wine64 and the mingw-w64 compiler when missing (needs
# root and apt), builds the ProcessPrng shim DLL that Go >= 1.24 binaries
# need and Debian 12's Wine 8.0 lacks, and sets up a Wine prefix once.
#
# Environment:
#   WINEPREFIX       prefix to use (default /tmp/hugemap-wine)
#   GOTESTFLAGS      extra flags for every test binary (default -test.v)
#   WINE_TIMEOUT     seconds per test binary (default 600)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)

if [ $# -eq 0 ]; then
	echo "usage: $0 PKGDIR..." >&2
	exit 2
fi

export WINEPREFIX=${WINEPREFIX:-/tmp/hugemap-wine}
export WINEARCH=win64
export WINEDEBUG=${WINEDEBUG:--all}
timeout_s=${WINE_TIMEOUT:-600}
read -r -a testflags <<<"${GOTESTFLAGS:--test.v}"

log() { echo "run-wine: $*" >&2; }

find_wine() {
	local w
	for w in "$(command -v wine64 || true)" /usr/lib/wine/wine64 /usr/lib64/wine/wine64 "$(command -v wine || true)"; do
		if [ -n "$w" ] && [ -x "$w" ]; then
			echo "$w"
			return 0
		fi
	done
	return 1
}

# 1. Packages.
if ! find_wine >/dev/null || ! command -v x86_64-w64-mingw32-gcc >/dev/null; then
	if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
		log "need wine64 and gcc-mingw-w64-x86-64 installed (apt-get install wine64 gcc-mingw-w64-x86-64)"
		exit 1
	fi
	log "installing wine64 gcc-mingw-w64-x86-64"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wine64 gcc-mingw-w64-x86-64 >/dev/null
fi
wine=$(find_wine)
wineserver=$(command -v wineserver || echo /usr/lib/wine/wineserver64)

# 2. Prefix. Skip the Mono and Gecko installers: console programs need neither.
system32=$WINEPREFIX/drive_c/windows/system32
if [ ! -d "$system32" ]; then
	log "creating Wine prefix $WINEPREFIX"
	mkdir -p "$WINEPREFIX"
	WINEDLLOVERRIDES="mscoree,mshtml=" "$wine" wineboot --init </dev/null >/dev/null 2>&1 || true
	"$wineserver" -w
	if [ ! -d "$system32" ]; then
		log "wineboot did not create $system32"
		exit 1
	fi
fi

# 3. ProcessPrng shim, rebuilt when its source changes.
dll=$system32/bcryptprimitives.dll
src=$here/processprng.c
if [ ! -f "$dll" ] || [ "$src" -nt "$dll" ]; then
	log "building $dll"
	x86_64-w64-mingw32-gcc -shared -O2 -s -o "$dll.tmp" "$src" -ladvapi32
	mv "$dll.tmp" "$dll"
fi
# Prefer our DLL over any builtin of the same name.
export WINEDLLOVERRIDES="bcryptprimitives=n${WINEDLLOVERRIDES:+;$WINEDLLOVERRIDES}"

# Start the server detached from our stdout, so a caller reading our output
# through a pipe is not kept waiting by it; stop it when done.
"$wineserver" -p 10 </dev/null >/dev/null 2>&1 || true
trap '"$wineserver" -k >/dev/null 2>&1 || true' EXIT

# 4. Build and run each package's tests.
work=$(mktemp -d /tmp/run-wine.XXXXXX)
trap '"$wineserver" -k >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

# Go >= 1.26 deletes files through NtSetInformationFile(FileDispositionInformationEx)
# and falls back to the old way only for the statuses real Windows returns;
# Wine 8 answers STATUS_NOT_IMPLEMENTED, so os.RemoveAll (and t.TempDir's
# cleanup) fails with "Invalid function". An overlay of the standard library
# adds that status to the fallback list, for these test binaries only.
overlay=()
atsrc=$(go env GOROOT)/src/internal/syscall/windows/at_windows.go
if [ -f "$atsrc" ] && grep -q 'STATUS_NOT_SUPPORTED: *// the file system' "$atsrc"; then
	sed 's|^\(\t*\)\(STATUS_NOT_SUPPORTED: *// the file system\)|\1NTStatus(0xC0000002), // STATUS_NOT_IMPLEMENTED (Wine)\n\1\2|' "$atsrc" >"$work/at_windows.go"
	printf '{"Replace":{"%s":"%s"}}\n' "$atsrc" "$work/at_windows.go" >"$work/overlay.json"
	overlay=(-overlay "$work/overlay.json")
fi

failed=()
for pkg in "$@"; do
	dir=$(cd "$root" && cd "$pkg" && pwd)
	name=$(echo "${dir#"$root"}" | tr '/' '_')
	exe=$work/pkg${name}.test.exe
	log "building $pkg for windows/amd64"
	if ! (cd "$dir" && GOOS=windows GOARCH=amd64 go test "${overlay[@]}" -c -o "$exe" .); then
		log "FAIL: $pkg does not build for windows/amd64"
		failed+=("$pkg")
		continue
	fi
	if [ ! -f "$exe" ]; then
		log "$pkg: no test files"
		continue
	fi
	log "running $pkg under $("$wine" --version 2>/dev/null || echo Wine)"
	# Like go test, run in the package directory.
	if (cd "$dir" && timeout "$timeout_s" "$wine" "$exe" "${testflags[@]}" </dev/null); then
		log "ok: $pkg"
	else
		log "FAIL: $pkg (exit $?)"
		failed+=("$pkg")
	fi
done

if [ ${#failed[@]} -ne 0 ]; then
	log "failed: ${failed[*]}"
	exit 1
fi
log "all passed: $*"
