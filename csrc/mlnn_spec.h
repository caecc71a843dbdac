/*
 * The integer codes that Python hands to the kernels: hidden activations,
 * output heads and stochastic solvers.  mlnn/_spec.py is the Python side of
 * this list; tests/test_spec.py checks that the two agree (through
 * mlnn._kernels.codes(), which reads these values).
 */
#ifndef MLNN_SPEC_H
#define MLNN_SPEC_H

enum mlnn_activation {
    MLNN_ACT_TANH = 0,
    MLNN_ACT_RELU = 1,
    MLNN_ACT_SIGMOID = 2,
    MLNN_ACT_IDENTITY = 3
};

enum mlnn_head {
    MLNN_HEAD_SOFTMAX = 0,  /* softmax + multiclass log-loss */
    MLNN_HEAD_LOGISTIC = 1, /* independent logistic units + binary log-loss */
    MLNN_HEAD_IDENTITY = 2, /* identity + half squared error */
    MLNN_HEAD_EXP = 3       /* exp + half Poisson deviance */
};

enum mlnn_solver {
    MLNN_SOLVER_SGD = 0,
    MLNN_SOLVER_ADAM = 1
};

#endif
