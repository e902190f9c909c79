// Host shim for running kernels/vision.cu's kernel bodies with g++ (see run.sh): one OS thread per CUDA
// thread of a block, std::barrier for __syncthreads, warp votes and shuffles through a per-warp barrier,
// __shared__ variables as statics (blocks run one after the other), explicit roundings as plain float /
// double operations (x86-64 without -mfma contracts nothing, as on the host side of onyx).
#ifndef VISION_EMU_SHIM_H
#define VISION_EMU_SHIM_H

#include <barrier>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

extern "C" {
#include "backend/cuda/kernels/vision.h"
#include "vision/vision_cuda.h"
}

// cuda_runtime_api.h (through vision.h) defines these for host compilers: replace them
#undef __device__
#undef __forceinline__
#undef __global__
#undef __shared__
#undef __launch_bounds__
#define __device__
#define __forceinline__ inline
#define __global__
#define __shared__ static
#define __launch_bounds__(x)
#define __restrict__

struct emu_u3 {
  unsigned x, y, z;
};
static thread_local emu_u3 threadIdx, blockIdx;
static std::barrier<> *emu_block_bar;
static std::barrier<> *emu_warp_bar[32];
static uint64_t emu_slot[32][32];

static void __syncthreads() { emu_block_bar->arrive_and_wait(); }
static int emu_tid() { return (int)threadIdx.x; } // the det kernels' blocks are 1-D
static uint64_t emu_exchange(uint64_t v, int src)
{
  int lane = emu_tid() & 31, w = emu_tid() >> 5;
  emu_slot[w][lane] = v;
  emu_warp_bar[w]->arrive_and_wait();
  uint64_t r = emu_slot[w][src];
  emu_warp_bar[w]->arrive_and_wait();
  return r;
}
static unsigned __ballot_sync(unsigned, bool p)
{
  int lane = emu_tid() & 31, w = emu_tid() >> 5;
  emu_slot[w][lane] = p;
  emu_warp_bar[w]->arrive_and_wait();
  unsigned r = 0;
  for (int i = 0; i < 32; i++) r |= emu_slot[w][i] ? 1u << i : 0u;
  emu_warp_bar[w]->arrive_and_wait();
  return r;
}
static uint32_t __shfl_sync(unsigned, uint32_t v, int src) { return (uint32_t)emu_exchange(v, src); }
static int __shfl_up_sync(unsigned, int v, int o)
{
  int lane = emu_tid() & 31;
  return (int)(uint32_t)emu_exchange((uint32_t)v, lane >= o ? lane - o : lane);
}
static int __popc(unsigned v) { return __builtin_popcount(v); }
static uint32_t __float_as_uint(float f)
{
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}
static float __fsub_rn(float a, float b) { return a - b; }
static float __fadd_rn(float a, float b) { return a + b; }
static float __fmul_rn(float a, float b) { return a * b; }
static float __fdiv_rn(float a, float b) { return a / b; }
static double __dadd_rn(double a, double b) { return a + b; }
static double __dsub_rn(double a, double b) { return a - b; }
static double __dmul_rn(double a, double b) { return a * b; }
static double __ddiv_rn(double a, double b) { return a / b; }
template <typename T> static T k_ld(T v) { return v; }
template <typename T> static T k_st(float v) { return (T)v; }

// Runs f as every thread (nthreads, 1-D, warps of 32) of block bx, with barriers.
template <class F> static void emu_block(unsigned bx, unsigned by, unsigned nthreads, F f)
{
  std::barrier<> bb((std::ptrdiff_t)nthreads);
  emu_block_bar = &bb;
  for (unsigned w = 0; w < nthreads / 32; w++) emu_warp_bar[w] = new std::barrier<>(32);
  std::vector<std::thread> th;
  for (unsigned t = 0; t < nthreads; t++)
    th.emplace_back([=] {
      threadIdx = {t, 0, 0};
      blockIdx = {bx, by, 0};
      f();
    });
  for (auto &x : th) x.join();
  for (unsigned w = 0; w < nthreads / 32; w++) delete emu_warp_bar[w];
}

#endif
