# OpenMP behind one shim (the pattern of sklearn/utils/_openmp_helpers.pxd).
#
# When the extension is compiled without OpenMP, _OPENMP is undefined: the
# functions below become serial stubs and Cython's prange turns into a plain
# loop, so the same kernel source builds either way.  Never call
# omp_set_num_threads: it changes state for the whole process.  Kernels get
# their thread count explicitly from mlnn._threads.effective_n_threads.

cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    #define MLNN_OPENMP_ENABLED 1
    #else
    #define MLNN_OPENMP_ENABLED 0
    static int omp_get_max_threads(void) { return 1; }
    #endif
    """
    bint MLNN_OPENMP_ENABLED
    int omp_get_max_threads() noexcept nogil
