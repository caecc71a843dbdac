"""Build the compiled kernels.  Metadata lives in pyproject.toml.

This file only lists the extension and works out compiler flags:

* OpenMP is detected by compiling *and running* a tiny OpenMP program with the
  compiler setuptools will use.  If that fails (Apple clang, no libgomp, ...)
  the extension is built without OpenMP and a warning says so.
  ``MLNN_NO_OPENMP=1`` forces the build without OpenMP.
* No ``-march=native``: wheels must run on any x86-64 CPU.  The C ops in
  csrc/ are compiled once per CPU level (baseline, AVX2, AVX-512) with target
  pragmas, and one table per level is chosen at run time (csrc/mlnn_fastmath.c).
* ``MLNN_SANITIZE=address`` builds with AddressSanitizer (debugging only).
"""

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import textwrap

from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

OPENMP_TEST = textwrap.dedent("""
    #include <omp.h>
    #include <stdio.h>
    int main(void) {
        int n = 0;
        #pragma omp parallel reduction(+:n)
        n += 1;
        printf("%d\\n", n);
        return n >= 1 ? 0 : 1;
    }
""")


def _openmp_flags(compiler_type):
    if compiler_type == "msvc":
        return ["/openmp"], []
    if sys.platform == "darwin":
        return ["-Xpreprocessor", "-fopenmp"], ["-lomp"]
    return ["-fopenmp"], ["-fopenmp"]


class BuildExt(build_ext):
    def _check_openmp(self, cflags, ldflags):
        tmp = tempfile.mkdtemp(prefix="mlnn-openmp-")
        try:
            src = os.path.join(tmp, "test_openmp.c")
            with open(src, "w") as f:
                f.write(OPENMP_TEST)
            objs = self.compiler.compile([src], output_dir=tmp, extra_postargs=cflags)
            exe = os.path.join(tmp, "test_openmp")
            # Link like the extension will be: distutils adds LDFLAGS (e.g. the
            # -L for Homebrew's libomp) to shared objects but not executables.
            extra = shlex.split(os.environ.get("LDFLAGS", ""))
            self.compiler.link_executable(objs, exe, extra_postargs=ldflags + extra)
            out = subprocess.run([exe], capture_output=True, timeout=60, check=True)
            return int(out.stdout.strip()) >= 1
        except Exception as exc:  # compile, link or run failed
            self._openmp_error = exc
            return False
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def build_extensions(self):
        ctype = self.compiler.compiler_type
        cflags, ldflags = [], []
        if ctype == "msvc":
            cflags += ["/O2"]
        else:
            # -fno-trapping-math lets GCC if-convert the branch-free fast-math
            # loops (it only affects FP exception flags, never results), and
            # -fno-math-errno lets sqrt vectorize (nothing reads errno).
            cflags += ["-O3", "-fno-trapping-math", "-fno-math-errno"]
        sanitize = os.environ.get("MLNN_SANITIZE")
        if sanitize:
            cflags += [f"-fsanitize={sanitize}", "-fno-omit-frame-pointer", "-g", "-O1"]
            ldflags += [f"-fsanitize={sanitize}"]

        omp_c, omp_l = _openmp_flags(ctype)
        if os.environ.get("MLNN_NO_OPENMP", "0") not in ("", "0"):
            print("mlnn: MLNN_NO_OPENMP is set: building without OpenMP "
                  "(kernels run single-threaded).")
        elif self._check_openmp(omp_c, omp_l):
            cflags += omp_c
            ldflags += omp_l
            print("mlnn: building with OpenMP (" + " ".join(omp_c) + ")")
        else:
            msg = ("mlnn: WARNING: this compiler cannot build and run an OpenMP "
                   f"program ({getattr(self, '_openmp_error', 'unknown error')}); "
                   "building WITHOUT OpenMP, so kernels will run single-threaded.")
            print("\n" + "*" * 72 + "\n" + msg + "\n" + "*" * 72 + "\n")
        for ext in self.extensions:
            ext.extra_compile_args = cflags + ext.extra_compile_args
            ext.extra_link_args = ldflags + ext.extra_link_args
        super().build_extensions()


extensions = [
    Extension(
        "mlnn._kernels",
        sources=["mlnn/_kernels.pyx", "csrc/mlnn_fastmath.c"],
        # headers: a change to one of them must rebuild the extension
        depends=["csrc/mlnn_spec.h", "csrc/mlnn_fastmath.h", "csrc/mlnn_fastmath_impl.h",
                 "csrc/mlnn_dense_impl.h", "csrc/mlnn_level_impl.h", "csrc/mlnn_vec_impl.h",
                 "csrc/mlnn_scalar_impl.h", "csrc/mlnn_kconst_impl.h",
                 "mlnn/_openmp_helpers.pxd"],
        include_dirs=["csrc"],
    ),
]

setup(
    ext_modules=cythonize(extensions, compiler_directives={"language_level": "3"}),
    cmdclass={"build_ext": BuildExt},
)
