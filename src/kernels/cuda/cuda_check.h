// Error checks for CUDA runtime and cuBLAS calls: a failure throws munet::Error naming the call,
// the op that made it and the device, instead of a silent wrong result or an abort.
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "util/error.h"

namespace munet::cuda {

inline void check(cudaError_t e, const char* what, const char* op) {
  if (e != cudaSuccess) {
    cudaGetLastError();  // clear a non-sticky error so later calls start clean
    int device = -1;
    cudaGetDevice(&device);
    fail("cuda device ", device, ": ", op, ": ", what, ": ", cudaGetErrorName(e), " (",
         cudaGetErrorString(e), ")");
  }
}

inline void check(cublasStatus_t s, const char* what, const char* op) {
  if (s != CUBLAS_STATUS_SUCCESS) {
    int device = -1;
    cudaGetDevice(&device);
    fail("cuda device ", device, ": ", op, ": ", what, ": ", cublasGetStatusName(s), " (",
         cublasGetStatusString(s), ")");
  }
}

// Checks that a kernel launch was accepted (launch errors surface at the next call otherwise).
inline void check_launch(const char* op) { check(cudaGetLastError(), "kernel launch", op); }

}  // namespace munet::cuda
