"""The C unit tests of tests/c/ under AddressSanitizer (with leak detection) and UBSan.

Each tests/c/test_<component>.c pins the contract stated in csrc/bp_<component>.h
and is linked with the whole C core (csrc/*.c, compiled once per session with the
same flags) into its own binary, which must exit 0. A failing binary's output
names every failed check as file:line.
"""
import concurrent.futures
import os
import pathlib
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
CSRC = ROOT / "csrc"
CTESTS = ROOT / "tests" / "c"
COMPILER = shutil.which("gcc") or shutil.which("cc")
CFLAGS = ["-std=c11", "-g", "-O1", "-Wall", "-Wextra", "-Werror", "-fsanitize=address,undefined",
          "-fno-sanitize-recover=all", f"-I{CSRC}", f"-I{CTESTS}"]
ENV = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=1",
           UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")
TESTS = sorted(CTESTS.glob("test_*.c"))

pytestmark = pytest.mark.skipif(COMPILER is None, reason="needs a C compiler (gcc or cc)")


def component(source):
    return source.stem[len("test_"):]


def _compile(args, timeout=120):
    return subprocess.run([COMPILER, *CFLAGS, *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="session")
def build(tmp_path_factory):
    """A function source -> binary; csrc/*.c are compiled once, in parallel, and linked into each."""
    directory = tmp_path_factory.mktemp("c_units")
    probe = directory / "probe.c"
    probe.write_text("int main(void) { return 0; }\n")
    if _compile([str(probe), "-o", str(directory / "probe")]).returncode != 0:
        pytest.skip(f"{COMPILER} cannot build with -fsanitize=address,undefined here")
    sources = sorted(CSRC.glob("*.c"))
    objects = [directory / (source.stem + ".o") for source in sources]
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        results = list(pool.map(lambda so: _compile(["-c", str(so[0]), "-o", str(so[1])]), zip(sources, objects)))
    errors = "".join(r.stderr for r in results if r.returncode != 0)
    assert not errors, f"csrc/ does not compile with {' '.join(CFLAGS)}:\n{errors[-6000:]}"
    binaries = {}

    def binary_of(source):
        if source not in binaries:
            binary = directory / source.stem
            built = _compile([str(source), *map(str, objects), "-lm", "-o", str(binary)])
            assert built.returncode == 0, f"{source.name} does not compile:\n{built.stderr[-6000:]}"
            binaries[source] = binary
        return binaries[source]

    return binary_of


def run_binary(binary, env):
    result = subprocess.run([str(binary)], capture_output=True, text=True, env=env, timeout=120)
    return result, f"{result.stdout}\n{result.stderr}"


@pytest.mark.parametrize("source", [pytest.param(t, id=component(t)) for t in TESTS])
def test_c_unit(source, build):
    result, output = run_binary(build(source), ENV)
    assert result.returncode == 0, f"{source.name} exited with {result.returncode}:\n{output[-8000:]}"
    # The summary line, so that a binary that returns 0 without running its tests cannot pass.
    assert f"{component(source)}: " in result.stdout and " 0 failures" in result.stdout, output


def test_every_component_has_c_unit_tests():
    """One tests/c/test_<component>.c per csrc/bp_<component>.h."""
    components = {h.stem[len("bp_"):] for h in CSRC.glob("bp_*.h")}
    assert components <= {component(t) for t in TESTS}
