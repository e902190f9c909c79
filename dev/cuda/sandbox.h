// What the kernel sandboxes under dev/cuda/ share: a CUDA call check that exits with status 2, seeded
// random floats (xorshift64) for their inputs, and the timing of a captured graph.
#ifndef ONYX_DEV_CUDA_SANDBOX_H
#define ONYX_DEV_CUDA_SANDBOX_H

#include <cuda_runtime.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <algorithm>
#include <vector>

#define CK(call)                                                                                          \
  do {                                                                                                    \
    cudaError_t e_ = (call);                                                                              \
    if (e_ != cudaSuccess) {                                                                              \
      fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call, cudaGetErrorString(e_));              \
      exit(2);                                                                                            \
    }                                                                                                     \
  } while (0)

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static float urand(void) /* [-1, 1) */
{
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (float)((rng >> 40) * (1.0 / (1ull << 23))) - 1.f;
}

// The GPU time of one of the per_graph launches captured in ge, in ms: 30 replays after 5 warm-up ones, each
// timed with CUDA events; sorted (median in the middle, minimum first).
static std::vector<float> time_graph(cudaGraphExec_t ge, cudaStream_t s, int per_graph)
{
  cudaEvent_t e0, e1;
  CK(cudaEventCreate(&e0));
  CK(cudaEventCreate(&e1));
  for (int i = 0; i < 5; i++) CK(cudaGraphLaunch(ge, s));
  std::vector<float> ms;
  for (int r = 0; r < 30; r++) {
    CK(cudaEventRecord(e0, s));
    CK(cudaGraphLaunch(ge, s));
    CK(cudaEventRecord(e1, s));
    CK(cudaEventSynchronize(e1));
    float t;
    CK(cudaEventElapsedTime(&t, e0, e1));
    ms.push_back(t / per_graph);
  }
  CK(cudaEventDestroy(e0));
  CK(cudaEventDestroy(e1));
  std::sort(ms.begin(), ms.end());
  return ms;
}

#endif
