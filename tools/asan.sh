#!/usr/bin/env bash
# Build mlnn's kernels with AddressSanitizer in a scratch copy of the tree and
# run the kernel tests against that build.
#
#   tools/asan.sh [pytest args...]      (default: the kernel tests)
#
# The copy keeps the working tree's in-place build untouched.  Python itself
# leaks by design, so leak detection is off; any heap/stack overflow or
# use-after-free in the kernels aborts the run with an ASan report.
set -euo pipefail

SRC="$(cd "$(dirname "$0")/.." && pwd)"
DEST="${MLNN_ASAN_DIR:-/tmp/asan}"
PYTHON="${PYTHON:-python}"

echo "== copying $SRC -> $DEST"
rm -rf "$DEST"
mkdir -p "$DEST"
if command -v rsync > /dev/null; then
    rsync -a --exclude build --exclude '*.so' --exclude .git "$SRC/" "$DEST/"
else
    tar -C "$SRC" --exclude ./build --exclude '*.so' --exclude ./.git -cf - . \
        | tar -C "$DEST" -xf -
fi

echo "== building with MLNN_SANITIZE=address"
cd "$DEST"
MLNN_SANITIZE=address "$PYTHON" setup.py build_ext --inplace > asan-build.log 2>&1 \
    || { tail -40 asan-build.log; exit 1; }
grep -E "^mlnn:" asan-build.log || true

LIBASAN="$(gcc -print-file-name=libasan.so)"
# libstdc++ too: without it ASan's __cxa_throw interceptor has no real
# function to call, and the first C++ exception (matplotlib's ft2font on
# import) aborts with "CHECK failed: real___cxa_throw != 0".
LIBSTDCXX="$(gcc -print-file-name=libstdc++.so)"
export LD_PRELOAD="$LIBASAN $LIBSTDCXX"
# halt_on_error: the first bad access fails the run; a report goes to stderr
export ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:abort_on_error=1:allocator_may_return_null=1"
export PYTHONPATH="$DEST${PYTHONPATH:+:$PYTHONPATH}"
export MPLBACKEND=Agg

# Make sure the sanitized extension is the one imported.
"$PYTHON" - <<'PY'
import os, mlnn, mlnn._kernels as k
assert os.path.dirname(mlnn.__file__) == os.path.join(os.environ["PYTHONPATH"].split(":")[0], "mlnn"), mlnn.__file__
print("== using", k.__file__)
PY
if [ "$(nm -D "$DEST"/mlnn/_kernels*.so | grep -c __asan_report)" -eq 0 ]; then
    echo "the extension is not instrumented"; exit 1
fi

if [ "$#" -eq 0 ]; then
    set -- tests/test_core.py
    [ -f tests/test_properties.py ] && set -- "$@" tests/test_properties.py
    [ -f tests/test_reliability.py ] && set -- "$@" tests/test_reliability.py \
        -k "not leak and not fork and not loky and not animate"
fi
echo "== pytest $*"
"$PYTHON" -m pytest -q -p no:cacheprovider "$@"
echo "== ASan: no errors reported"
