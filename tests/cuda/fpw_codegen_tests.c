/* The FusedPointwise kernel generator (src/backend/cuda/fpw_codegen.c),
 * without a GPU.
 *
 * Each case is a FusedPointwise node (a model in domain "onyx") with a
 * program covering some opcodes and a broadcast pattern.  The CPU backend
 * runs it (the reference); then, for 16-byte aligned buffers (4-wide path
 * where the shapes allow it) and unaligned ones:
 *   - the source is checked for its structure (one variable per SSA value,
 *     the kernel's signature, the 4-wide path exactly when expected);
 *   - NVRTC compiles it for sm_90 (NVRTC needs no GPU);
 *   - the host C++ compiler compiles it with a small shim (blockIdx & co. as
 *     globals, CUDA's vector types, IEEE half conversions) and the kernel is
 *     run on the CPU over a simulated grid of several blocks: every output
 *     must equal the CPU kernel's bit for bit (both NaN counts as equal).
 * FP16 variants read and write 16-bit storage and are compared with the CPU
 * run on the half-rounded inputs, its outputs rounded to half.
 *
 * Usage: onyx_fpw_codegen_tests SCRATCH_DIR HOST_COMPILER [-v] */
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "harness.h"
#include "model_builder.h"

#include "backend/cuda/fpw_codegen.h"
#include "backend/cuda/nvrtc.h"
#include "common/util.h"
#include "ops/fused.h"

#define F ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT
#define MAX_CASE_IN 4

typedef struct fpw_case {
  const char *label;
  int n_in;
  const char *shapes[MAX_CASE_IN];
  int n_instr;
  int64_t prog[4 * 16];
  int n_consts;
  float consts[8];
  unsigned half_in; /* bit i: input i stored as FLOAT16 */
  bool half_out;
  bool vec_possible; /* aligned buffers take the 4-wide path */
} fpw_case;

static const fpw_case cases[] = {
    {"silu_add", 2, {"2,3,4,5", "2,3,4,5"}, 3,
     {FPW_SIGMOID, 0, -1, -1, FPW_MUL, 0, 2, -1, FPW_ADD, 3, 1, -1}, 0, {0}, 0, false, true},
    {"bias_scale_clip_leaky", 3, {"2,8,5,7", "1,8,1,1", ""}, 4,
     {FPW_ADD, 0, 1, -1, FPW_MUL, 3, 2, -1, FPW_CLIP, 4, -1, 0, FPW_LEAKY_RELU, 5, -1, 2}, 3, {-0.5f, 6.f, 0.1f},
     0, false, false},
    {"tail_scalar_hswish_elu_hsig", 2, {"3,7", "1"}, 4,
     {FPW_HARD_SWISH, 0, -1, -1, FPW_SUB, 2, 1, -1, FPW_ELU, 3, -1, 0, FPW_HARD_SIGMOID, 4, -1, 1}, 3,
     {0.5f, 0.2f, 0.5f}, 0, false, true},
    /* every other opcode; written as if instruction k were value 4 + k (program_of renumbers) */
    {"unary_chain", 2, {"4,33", "33"}, 15,
     {FPW_ABS,     0, -1, -1, FPW_SQRT,   4, -1, -1, FPW_LOG,  5, -1, -1, FPW_EXP,        0, -1, -1,
      FPW_SOFTPLUS, 0, -1, -1, FPW_ERF,    8, -1, -1, FPW_TANH, 9, -1, -1, FPW_RECIPROCAL, 7, -1, -1,
      FPW_NEG,     11, -1, -1, FPW_MAX,   12, 6, -1, FPW_MIN, 13, 10, -1, FPW_RELU,      14, -1, -1,
      FPW_PRELU,   0, 1, -1,  FPW_DIV,    16, 7, -1, FPW_ADD, 17, 15, -1},
     0, {0}, 0, false, false},
    {"clip_inverted_and_infinite", 1, {"5,6"}, 3,
     {FPW_CLIP, 0, -1, 0, FPW_CLIP, 0, -1, 2, FPW_ADD, 1, 2, -1}, 4, {2.f, 1.f, -INFINITY, 0.25f}, 0, false,
     true},
    {"outer_broadcast", 2, {"4,1,6", "1,5,1"}, 2, {FPW_ADD, 0, 1, -1, FPW_MUL, 2, 0, -1}, 0, {0}, 0, false,
     false},
    {"scalar_output", 2, {"", "1"}, 2, {FPW_MUL, 0, 1, -1, FPW_EXP, 2, -1, -1}, 0, {0}, 0, false, false},
    {"fp16_silu_add", 2, {"2,3,4,5", "2,3,4,5"}, 3,
     {FPW_SIGMOID, 0, -1, -1, FPW_MUL, 0, 2, -1, FPW_ADD, 3, 1, -1}, 0, {0}, 3, true, true},
    {"fp16_mixed_bias_clip", 3, {"2,8,5,7", "1,8,1,1", ""}, 3,
     {FPW_ADD, 0, 1, -1, FPW_MUL, 3, 2, -1, FPW_CLIP, 4, -1, 0}, 2, {0.f, 6.f}, 1, true, false},
    {"fp16_tail_in_float_out", 2, {"3,7", "3,7"}, 2, {FPW_SUB, 0, 1, -1, FPW_TANH, 2, -1, -1}, 0, {0}, 2, false,
     true},
};

static bool verbose;
static const char *scratch, *host_cc;

/* ---- building and running the reference --------------------------------------------- */

static void attr_floats(mb *b, Onnx__NodeProto *n, const char *name, size_t count, const float *v)
{
  mb_attr_float(b, n, name, 0.f);
  Onnx__AttributeProto *a = n->attribute[n->n_attribute - 1];
  a->has_f = 0;
  a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS;
  a->n_floats = count;
  a->floats = mb_alloc(b, (count ? count : 1) * sizeof(float));
  memcpy(a->floats, v, count * sizeof(float));
}

/* The unary_chain program names its operands as if the node had 4 inputs;
 * renumber: values >= 4 shift down to n_in. */
static void program_of(const fpw_case *c, int64_t *prog)
{
  memcpy(prog, c->prog, sizeof(c->prog));
  if (strcmp(c->label, "unary_chain") != 0) return;
  for (int k = 0; k < c->n_instr; k++)
    for (int j = 1; j <= 2; j++)
      if (prog[4 * k + j] >= 4) prog[4 * k + j] -= 4 - c->n_in;
}

static onyx_model *case_model(const fpw_case *c)
{
  mb *b = mb_new(13);
  mb_opset(b, "onyx", 1);
  char names[64] = "";
  for (int i = 0; i < c->n_in; i++) {
    char nm[8];
    snprintf(nm, sizeof(nm), "x%d", i);
    mb_input(b, nm, F, c->shapes[i]);
    strcat(names, i ? "," : "");
    strcat(names, nm);
  }
  Onnx__NodeProto *n = mb_node(b, "FusedPointwise", "fp", names, "y");
  n->domain = mb_str(b, "onyx");
  int64_t prog[4 * 16];
  program_of(c, prog);
  mb_attr_ints(b, n, "program", (size_t)(4 * c->n_instr), prog);
  if (c->n_consts) attr_floats(b, n, "constants", (size_t)c->n_consts, c->consts);
  mb_output(b, "y", F, NULL);
  onyx_model *m = NULL;
  if (mb_load(b, &m) != ONYX_OK) fprintf(stderr, "%s: model: %s\n", c->label, onyx_last_error());
  mb_free(b);
  return m;
}

/* ---- the host shim --------------------------------------------------------------------- */

static const char shim[] =
    "#define ONYX_FPW_HOST 1\n"
    "#include <math.h>\n"
    "#include <string.h>\n"
    "#define __device__\n"
    "#define __global__\n"
    "#define __forceinline__ inline\n"
    "#define __launch_bounds__(n)\n"
    "struct fpw_dim3 { unsigned int x, y, z; };\n"
    "extern \"C\" { fpw_dim3 blockIdx, threadIdx, blockDim, gridDim; }\n"
    "extern \"C\" { float (*fpw_host_h2f)(unsigned short); unsigned short (*fpw_host_f2h)(float); }\n"
    "struct alignas(16) float4 { float x, y, z, w; };\n"
    "struct alignas(8) uint2 { unsigned int x, y; };\n"
    "static inline float fpw_h2f(unsigned short h) { return fpw_host_h2f(h); }\n"
    "static inline unsigned short fpw_f2h(float f) { return fpw_host_f2h(f); }\n"
    "static inline float fpw_bits(unsigned int u) { float f; memcpy(&f, &u, 4); return f; }\n";

typedef struct dim3_host {
  unsigned x, y, z;
} dim3_host;

static float h2f(unsigned short h) { return onyx_half_to_float(h); }
static unsigned short f2h(float f) { return onyx_float_to_half(f); }

/* Compiles src with the shim into a shared object and runs its kernel over
 * grid x block simulated threads.  0 on success. */
static int host_run(const char *label, const char *src, int n_in, void **ptrs, unsigned grid)
{
  char cpp[512], so[512], cmd[2048];
  snprintf(cpp, sizeof(cpp), "%s/fpw_%s.cpp", scratch, label);
  snprintf(so, sizeof(so), "%s/fpw_%s.so", scratch, label);
  FILE *f = fopen(cpp, "w");
  if (!f) return -1;
  fputs(shim, f);
  fputs(src, f);
  fclose(f);
  snprintf(cmd, sizeof(cmd), "'%s' -x c++ -std=c++17 -O1 -ffp-contract=off -Wall -Wno-unused-function -shared -fPIC -o '%s' '%s'",
           host_cc, so, cpp);
  if (system(cmd) != 0) {
    fprintf(stderr, "%s: host compile failed: %s\n", label, cmd);
    return -1;
  }
  void *h = dlopen(so, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    fprintf(stderr, "%s: dlopen: %s\n", label, dlerror());
    return -1;
  }
  void *fn = dlsym(h, FPW_KERNEL_NAME);
  dim3_host *bi = dlsym(h, "blockIdx"), *ti = dlsym(h, "threadIdx"), *bd = dlsym(h, "blockDim"),
            *gd = dlsym(h, "gridDim");
  float (**ph2f)(unsigned short) = dlsym(h, "fpw_host_h2f");
  unsigned short (**pf2h)(float) = dlsym(h, "fpw_host_f2h");
  if (!fn || !bi || !ti || !bd || !gd || !ph2f || !pf2h) {
    fprintf(stderr, "%s: symbols missing\n", label);
    dlclose(h);
    return -1;
  }
  *ph2f = h2f;
  *pf2h = f2h;
  /* a small block keeps the simulation cheap; the kernel takes any block size */
  const unsigned block = 8;
  gd->x = grid;
  bd->x = block;
  for (unsigned b = 0; b < grid; b++)
    for (unsigned t = 0; t < block; t++) {
      bi->x = b;
      ti->x = t;
      switch (n_in) { /* the kernel's parameters are pointers: in0..in{n-1}, out */
      case 1: ((void (*)(void *, void *))fn)(ptrs[0], ptrs[1]); break;
      case 2: ((void (*)(void *, void *, void *))fn)(ptrs[0], ptrs[1], ptrs[2]); break;
      case 3: ((void (*)(void *, void *, void *, void *))fn)(ptrs[0], ptrs[1], ptrs[2], ptrs[3]); break;
      case 4:
        ((void (*)(void *, void *, void *, void *, void *))fn)(ptrs[0], ptrs[1], ptrs[2], ptrs[3], ptrs[4]);
        break;
      default: dlclose(h); return -1;
      }
    }
  dlclose(h);
  return 0;
}

/* ---- one case ------------------------------------------------------------------------------- */

static int count_of(const char *s, const char *sub)
{
  int n = 0;
  for (const char *p = strstr(s, sub); p; p = strstr(p + 1, sub)) n++;
  return n;
}

static bool same_float(float a, float b)
{
  if (isnan(a) && isnan(b)) return true;
  uint32_t x, y;
  memcpy(&x, &a, 4);
  memcpy(&y, &b, 4);
  return x == y;
}

static void run_case(const fpw_case *c, cpu_ctx *cpu)
{
  onyx_model *m = case_model(c);
  CHECK(m != NULL);
  if (!m) return;
  ir_graph *g = h_prepare(m, cpu);
  h_inputs in = {0};
  CHECK(g != NULL);
  if (!g || h_inputs_make(g, 11, &in) != 0) goto out;
  for (int i = 0; i < c->n_in; i++) /* FP16 inputs: the CPU sees the values the GPU will */
    if (c->half_in >> i & 1) {
      int64_t n = ir_tensor_numel(&g->tensors[g->inputs[i]]);
      for (int64_t k = 0; k < n; k++) in.data[i][k] = onyx_half_to_float(onyx_float_to_half(in.data[i][k]));
    }
  if (h_run(g, cpu, &in) != 0) {
    CHECK(!"CPU reference run");
    goto out;
  }
  int ni = h_find_node(g, "fp");
  CHECK(ni >= 0);
  if (ni < 0) goto out;
  const ir_node *n = &g->nodes[ni];
  const ir_tensor *y = &g->tensors[n->out[0]];
  const int64_t total = ir_tensor_numel(y);

  fpw_kernel_desc d;
  memset(&d, 0, sizeof(d));
  d.prog = n->params;
  d.n_in = n->n_in;
  d.ndim = y->ndim;
  memcpy(d.dims, y->dims, sizeof(d.dims));
  for (int64_t s = 1, k = y->ndim - 1; k >= 0; k--) {
    d.out_strides[k] = s;
    s *= y->dims[k];
  }
  d.half_out = c->half_out;
  for (int i = 0; i < n->n_in; i++) {
    const ir_tensor *x = &g->tensors[n->in[i]];
    cpu_broadcast_strides(y->ndim, y->dims, x->ndim, x->dims, d.in_strides[i]);
    d.half_in[i] = c->half_in >> i & 1;
  }
  for (int variant = 0; variant < 2; variant++) {
    d.aligned16 = variant == 0;
    char label[128];
    snprintf(label, sizeof(label), "%s_%s", c->label, d.aligned16 ? "aligned" : "unaligned");
    char *src = NULL;
    if (!CHECK_OK(fpw_codegen(&d, &src))) continue;
    if (verbose) printf("---- %s\n%s", label, src);
    /* structure */
    const bool vec = d.aligned16 && c->vec_possible;
    CHECK_EQ_I64(fpw_vectorised(&d), vec);
    CHECK_EQ_I64(strstr(src, "4-wide") != NULL, vec);
    CHECK_EQ_I64(count_of(src, "const float v"), c->n_instr);
    CHECK(strstr(src, "extern \"C\" __global__ void __launch_bounds__(256) " FPW_KERNEL_NAME "(") != NULL);
    for (int k = 0; k < c->n_instr; k++) {
      char want[48];
      snprintf(want, sizeof(want), "v%d = ", n->n_in + k);
      CHECK(strstr(src, want) != NULL);
    }
    for (int i = 0; i < n->n_in; i++) {
      char want[64];
      snprintf(want, sizeof(want), "const %s *__restrict__ in%d", d.half_in[i] ? "unsigned short" : "float", i);
      CHECK(strstr(src, want) != NULL);
    }
    unsigned grid = fpw_grid(&d, 2);
    CHECK(grid >= 1 && grid <= 32);
    /* NVRTC */
    uint8_t *cubin = NULL;
    size_t size = 0;
    int before = cuda_nvrtc_compiles();
    if (CHECK_OK(cuda_nvrtc_compile(src, label, 9, 0, &cubin, &size))) CHECK(size > 64 && !memcmp(cubin, "\177ELF", 4));
    CHECK_EQ_I64(cuda_nvrtc_compiles(), before + 1);
    free(cubin);
    /* on the host */
    const size_t esz_out = d.half_out ? 2 : 4;
    void *ptrs[MAX_CASE_IN + 1];
    void *bufs[MAX_CASE_IN + 1] = {0};
    bool ok = true;
    for (int i = 0; i < n->n_in && ok; i++) {
      const ir_tensor *x = &g->tensors[n->in[i]];
      int64_t cnt = ir_tensor_numel(x);
      /* 16 bytes of slack in front: the unaligned variant really is unaligned */
      bufs[i] = calloc(1, (size_t)(cnt ? cnt : 1) * 4 + 32);
      ok = bufs[i] != NULL;
      if (!ok) break;
      char *base = (char *)bufs[i] + (d.aligned16 ? 16 : 2);
      if (d.half_in[i]) {
        for (int64_t k = 0; k < cnt; k++) ((uint16_t *)base)[k] = onyx_float_to_half(((const float *)x->data)[k]);
      } else {
        memcpy(base, x->data, (size_t)cnt * 4);
      }
      ptrs[i] = base;
    }
    bufs[n->n_in] = calloc(1, (size_t)(total ? total : 1) * esz_out + 32);
    ok = ok && bufs[n->n_in];
    if (ok) ptrs[n->n_in] = (char *)bufs[n->n_in] + (d.aligned16 ? 16 : 2);
    CHECK(ok);
    if (ok && host_run(label, src, n->n_in, ptrs, grid) == 0) {
      int64_t bad = 0;
      for (int64_t k = 0; k < total; k++) {
        float want = ((const float *)y->data)[k], got;
        if (d.half_out) {
          want = onyx_half_to_float(onyx_float_to_half(want));
          got = onyx_half_to_float(((const uint16_t *)ptrs[n->n_in])[k]);
        } else {
          memcpy(&got, (const char *)ptrs[n->n_in] + 4 * k, 4);
        }
        if (!same_float(want, got)) {
          if (bad++ < 5) fprintf(stderr, "%s: element %lld: CPU %.9g, generated %.9g\n", label, (long long)k, want, got);
        }
      }
      CHECK_EQ_I64(bad, 0);
    } else {
      CHECK(!"host run");
    }
    for (int i = 0; i <= n->n_in; i++) free(bufs[i]);
    free(src);
  }
out:
  h_inputs_free(&in);
  for (int i = 0; g && i < g->n_inputs; i++) g->tensors[g->inputs[i]].data = NULL; /* h_inputs owned them */
  ir_graph_free(g);
  onyx_model_free(m);
}

/* A compile error comes back with the layer's name and NVRTC's log. */
static void test_nvrtc_error(void)
{
  uint8_t *cubin = (uint8_t *)1;
  size_t size = 1;
  CHECK_ERR(cuda_nvrtc_compile("extern \"C\" __global__ void k() { undeclared_thing = 1; }", "Layer 'x'", 9, 0,
                               &cubin, &size),
            ONYX_ERR_BACKEND, "Layer 'x'", "sm_90", "undeclared_thing");
  CHECK(cubin == NULL && size == 0);
}

/* Dim simplification: a per-channel bias over NCHW becomes 3 dims, a full
 * input over any shape one; unsupported programs are refused. */
static void test_structure(void)
{
  fused_pointwise_params p;
  memset(&p, 0, sizeof(p));
  p.n_instr = 1;
  p.instr[0] = (fpw_instr){FPW_ADD, 0, 1, -1};
  fpw_kernel_desc d;
  memset(&d, 0, sizeof(d));
  d.prog = &p;
  d.n_in = 2;
  d.ndim = 4;
  int64_t dims[4] = {2, 16, 9, 9}, cs[4] = {16 * 81, 81, 9, 1};
  memcpy(d.dims, dims, sizeof(dims));
  memcpy(d.out_strides, cs, sizeof(cs));
  memcpy(d.in_strides[0], cs, sizeof(cs));
  d.in_strides[1][1] = 1; /* [1,16,1,1] */
  char *src = NULL;
  if (CHECK_OK(fpw_codegen(&d, &src))) {
    CHECK(strstr(src, "as 2x16x81") != NULL);
    /* only the channel index is computed: one division by the inner extent, one modulo */
    CHECK(strstr(src, "r /= 81u;") != NULL && strstr(src, "const IDX i1 = r % 16u;") != NULL);
    CHECK(strstr(src, "in1[i1 * 1u]") != NULL && !strstr(src, "i0") && !strstr(src, "i2"));
    CHECK(strstr(src, "in0[e]") != NULL);
    CHECK(strstr(src, "typedef unsigned int IDX") != NULL);
  }
  free(src);
  memcpy(d.in_strides[1], cs, sizeof(cs));
  if (CHECK_OK(fpw_codegen(&d, &src))) CHECK(strstr(src, "as 2592 */") != NULL && !strstr(src, "IDX r"));
  free(src);
  /* over 2^31 elements: 64-bit indices */
  d.dims[0] = 1 << 21;
  for (int k = 0; k < 2; k++) {
    int64_t s = 1;
    for (int j = 3; j >= 0; j--) {
      d.in_strides[k][j] = s;
      d.out_strides[j] = s;
      s *= d.dims[j];
    }
  }
  if (CHECK_OK(fpw_codegen(&d, &src))) CHECK(strstr(src, "typedef unsigned long long IDX") != NULL);
  free(src);
  p.instr[0] = (fpw_instr){999, 0, 1, -1};
  CHECK_ERR(fpw_codegen(&d, &src), ONYX_ERR_UNSUPPORTED, "opcode 999");
  CHECK(src == NULL);
  p.instr[0] = (fpw_instr){FPW_ADD, 0, 2, -1}; /* reads itself */
  CHECK_ERR(fpw_codegen(&d, &src), ONYX_ERR_UNSUPPORTED, "instruction 0");
}

int main(int argc, char **argv)
{
  if (argc < 3) {
    fprintf(stderr, "usage: %s SCRATCH_DIR HOST_COMPILER [-v]\n", argv[0]);
    return 2;
  }
  scratch = argv[1];
  host_cc = argv[2];
  verbose = argc > 3 && strcmp(argv[3], "-v") == 0;
  cpu_ctx cpu;
  cpu_ctx_init(&cpu, 1);
  test_structure();
  test_nvrtc_error();
  for (size_t i = 0; i < ONYX_ARRAY_LEN(cases); i++) run_case(&cases[i], &cpu);
  cpu_ctx_free(&cpu);
  return check_summary(argv[0]);
}
