/* cuBLASLt helpers shared by the Gemm/MatMul layers (l_gemm.c) and the GEMM form of 1x1 convolutions
 * (l_conv.c). */
#include "backend/cuda/ops_libs.h"

onyx_status cuda_lt_layout(cublasLtMatrixLayout_t *l, cudaDataType_t t, int64_t rows, int64_t cols,
                           int32_t batch, int64_t stride)
{
  CUBLAS_CHECK(cublasLtMatrixLayoutCreate(l, t, (uint64_t)rows, (uint64_t)cols, rows > 0 ? rows : 1));
  if (batch > 1) {
    CUBLAS_CHECK(
        cublasLtMatrixLayoutSetAttribute(*l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &batch, sizeof(batch)));
    CUBLAS_CHECK(cublasLtMatrixLayoutSetAttribute(*l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride,
                                                  sizeof(stride)));
  }
  return ONYX_OK;
}

uint32_t cuda_lt_offset_align(int64_t bytes)
{
  uint32_t a = 256;
  while (a > 1 && bytes % a) a /= 2;
  return a;
}

uint32_t cuda_lt_ptr_align(const void *p, uint32_t align)
{
  uint32_t a = p ? cuda_lt_offset_align((int64_t)((uintptr_t)p % 256)) : 256;
  return a < align ? a : align;
}

cublasStatus_t cuda_lt_heuristics(cuda_ctx *ctx, cublasLtMatmulDesc_t op, cublasLtMatrixLayout_t la,
                                  cublasLtMatrixLayout_t lb, cublasLtMatrixLayout_t lc, uint64_t ws_limit,
                                  uint32_t align, int cap, cublasLtMatmulHeuristicResult_t *h, int *nh)
{
  cublasLtMatmulPreference_t pref = NULL;
  *nh = 0;
  cublasStatus_t cs = cublasLtMatmulPreferenceCreate(&pref);
  if (cs != CUBLAS_STATUS_SUCCESS) return cs;
  cs = cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws_limit,
                                            sizeof(ws_limit));
  /* the heuristic assumes 256-byte aligned pointers unless told otherwise */
  const cublasLtMatmulPreferenceAttributes_t aligns[] = {
      CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
      CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES};
  for (size_t i = 0; cs == CUBLAS_STATUS_SUCCESS && i < sizeof(aligns) / sizeof(aligns[0]); i++)
    cs = cublasLtMatmulPreferenceSetAttribute(pref, aligns[i], &align, sizeof(align));
  if (cs == CUBLAS_STATUS_SUCCESS)
    cs = cublasLtMatmulAlgoGetHeuristic(ctx->lt, op, la, lb, lc, lc, pref, cap, h, nh);
  cublasLtMatmulPreferenceDestroy(pref);
  return cs;
}
