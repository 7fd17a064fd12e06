#!/usr/bin/env bash
# Proves that the go command sees every C file of the package: each one in
# turn gets an #error appended, and the build that compiles it must fail
# (then the file is put back). The C shims live next to the Go files for
# this reason: the go command hashes only files in the package directory
# (golang/go#24355), so a .c file #included from elsewhere could change
# without `go test` rebuilding it.
set -uo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
MINGWCC=${MINGWCC:-x86_64-w64-mingw32-gcc}
status=0
for f in $(git ls-files '*.c' '*.h' | grep -v -e '^peers/' -e '^tools/'); do
  pkg=./$(dirname "$f")
  case $f in
    *_windows.*)
      if ! command -v "$MINGWCC" >/dev/null 2>&1; then
        if [ "${CI:-}" = true ]; then echo "c-edit-check: $MINGWCC missing (apt-get install gcc-mingw-w64-x86-64)"; status=1; fi
        echo "c-edit-check: skip $f: no $MINGWCC (apt-get install gcc-mingw-w64-x86-64)"
        continue
      fi
      build=(env CGO_ENABLED=1 GOOS=windows GOARCH=amd64 CC="$MINGWCC" "$GO" build "$pkg") ;;
    *) build=("$GO" build "$pkg") ;;
  esac
  cp -p "$f" "$f.c-edit-check"
  printf '\n#error c-edit-check\n' >>"$f"
  out=$("${build[@]}" 2>&1)
  rc=$?
  mv -f "$f.c-edit-check" "$f"
  if [ $rc -eq 0 ] || ! grep -q 'c-edit-check' <<<"$out"; then
    echo "c-edit-check: an edit to $f did not change the build"
    status=1
  fi
done
[ $status -eq 0 ] && echo "c-edit-check: an edit to every C file changes the build"
exit $status
