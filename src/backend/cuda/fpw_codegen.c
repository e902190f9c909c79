/* FusedPointwise kernel source generator (see fpw_codegen.h). */
#include "backend/cuda/fpw_codegen.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

/* ---- a growable string ------------------------------------------------------ */

typedef struct sbuf {
  char *p;
  size_t n, cap;
  bool oom;
} sbuf;

static void put(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(sbuf *b, const char *fmt, ...)
{
  if (b->oom) return;
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(b->p ? b->p + b->n : NULL, b->p ? b->cap - b->n : 0, fmt, ap);
    va_end(ap);
    if (k < 0) {
      b->oom = true;
      return;
    }
    if (b->p && b->n + (size_t)k < b->cap) {
      b->n += (size_t)k;
      return;
    }
    size_t cap = b->cap ? b->cap : 4096;
    while (cap <= b->n + (size_t)k) cap *= 2;
    char *q = realloc(b->p, cap);
    if (!q) {
      b->oom = true;
      return;
    }
    b->p = q;
    b->cap = cap;
  }
}

/* ---- the simplified iteration space ------------------------------------------ */

typedef enum { RD_FULL, RD_SCALAR, RD_STRIDED } rd_mode;

typedef struct space {
  int nd; /* dims, outermost first, none of extent 1 */
  int64_t dims[ONYX_MAX_DIMS];
  int64_t out[ONYX_MAX_DIMS];
  int64_t in[FPW_MAX_IN][ONYX_MAX_DIMS];
  int64_t total;
  bool out_contig, need_idx, vec;
  bool wide; /* an element count or offset needs 64 bits */
  rd_mode mode[FPW_MAX_IN];
} space;

/* The largest element offset a tensor of these strides reaches, plus one. */
static int64_t span(int nd, const int64_t *dims, const int64_t *strides)
{
  int64_t m = 0;
  for (int k = 0; k < nd; k++) m += (dims[k] - 1) * (strides[k] < 0 ? -strides[k] : strides[k]);
  return m + 1;
}

/* Drops extent-1 dims and merges a dim into its inner neighbour wherever every
 * tensor's stride there is the inner stride times the inner extent. */
static void simplify(const fpw_kernel_desc *d, space *s)
{
  memset(s, 0, sizeof(*s));
  s->total = 1;
  for (int k = 0; k < d->ndim; k++) s->total *= d->dims[k];
  int nd = 0; /* collected innermost first */
  int64_t dims[ONYX_MAX_DIMS], out[ONYX_MAX_DIMS], in[FPW_MAX_IN][ONYX_MAX_DIMS];
  for (int k = d->ndim - 1; k >= 0 && s->total > 0; k--) {
    if (d->dims[k] == 1) continue;
    if (nd > 0) {
      const int j = nd - 1;
      bool merge = d->out_strides[k] == out[j] * dims[j];
      for (int i = 0; i < d->n_in && merge; i++) merge = d->in_strides[i][k] == in[i][j] * dims[j];
      if (merge) {
        dims[j] *= d->dims[k];
        continue;
      }
    }
    dims[nd] = d->dims[k];
    out[nd] = d->out_strides[k];
    for (int i = 0; i < d->n_in; i++) in[i][nd] = d->in_strides[i][k];
    nd++;
  }
  s->nd = nd;
  for (int k = 0; k < nd; k++) {
    s->dims[k] = dims[nd - 1 - k];
    s->out[k] = out[nd - 1 - k];
    for (int i = 0; i < d->n_in; i++) s->in[i][k] = in[i][nd - 1 - k];
  }
  int64_t contig[ONYX_MAX_DIMS], st = 1;
  for (int k = nd - 1; k >= 0; k--) {
    contig[k] = st;
    st *= s->dims[k];
  }
  s->out_contig = memcmp(s->out, contig, (size_t)nd * sizeof(int64_t)) == 0;
  s->need_idx = !s->out_contig;
  bool vec = d->aligned16 && s->out_contig && s->total >= FPW_VEC;
  for (int i = 0; i < d->n_in; i++) {
    bool zero = true;
    for (int k = 0; k < nd; k++) zero = zero && s->in[i][k] == 0;
    if (zero) s->mode[i] = RD_SCALAR;
    else if (s->out_contig && memcmp(s->in[i], contig, (size_t)nd * sizeof(int64_t)) == 0)
      s->mode[i] = RD_FULL;
    else s->mode[i] = RD_STRIDED;
    if (s->mode[i] == RD_STRIDED) {
      s->need_idx = true;
      vec = false;
    }
  }
  s->vec = vec;
  s->wide = s->total > INT32_MAX || span(nd, s->dims, s->out) > INT32_MAX;
  for (int i = 0; i < d->n_in; i++) s->wide = s->wide || span(nd, s->dims, s->in[i]) > INT32_MAX;
}

bool fpw_vectorised(const fpw_kernel_desc *d)
{
  space s;
  simplify(d, &s);
  return s.vec;
}

unsigned fpw_grid(const fpw_kernel_desc *d, int sm_count)
{
  space s;
  simplify(d, &s);
  if (s.total <= 0) return 0;
  int64_t items = s.vec ? s.total / FPW_VEC : s.total;
  int64_t blocks = (items + FPW_BLOCK - 1) / FPW_BLOCK, cap = sm_count > 0 ? 16 * (int64_t)sm_count : 1024;
  return (unsigned)(blocks < 1 ? 1 : blocks > cap ? cap : blocks);
}

/* ---- expressions --------------------------------------------------------------- */

/* A float literal that reads back as exactly v. */
static void float_lit(float v, char *buf, size_t cap)
{
  if (!isfinite(v)) {
    uint32_t u;
    memcpy(&u, &v, sizeof(u));
    snprintf(buf, cap, "fpw_bits(0x%08xu)", (unsigned)u);
    return;
  }
  char t[40];
  snprintf(t, sizeof(t), "%.9g", (double)v);
  snprintf(buf, cap, "(%s%sf)", t, strpbrk(t, ".e") ? "" : ".0");
}

/* "const float vN = <expr>;" for instruction k (value n_in + k), as the CPU kernel computes it. */
static onyx_status put_instr(sbuf *b, const fused_pointwise_params *p, int n_in, int k)
{
  const fpw_instr *ins = &p->instr[k];
  const int dst = n_in + k, arity = fpw_arity(ins->op), nc = fpw_n_consts(ins->op);
  if (arity == 0 || ins->a < 0 || ins->a >= dst || (arity == 2 && (ins->b < 0 || ins->b >= dst)) ||
      (nc && (ins->c < 0 || ins->c + nc > p->n_consts)))
    return onyx_error(ONYX_ERR_UNSUPPORTED, "FusedPointwise instruction %d (opcode %d) cannot be generated",
                      k, ins->op);
  char x[16], y[16], c0[48] = "", c1[48] = "", k6[48];
  snprintf(x, sizeof(x), "v%d", ins->a);
  snprintf(y, sizeof(y), "v%d", arity == 2 ? ins->b : 0);
  if (nc > 0) float_lit(p->consts[ins->c], c0, sizeof(c0));
  if (nc > 1) float_lit(p->consts[ins->c + 1], c1, sizeof(c1));
  float_lit((float)(1.0 / 6.0), k6, sizeof(k6));
  put(b, "  const float v%d = ", dst);
  switch (ins->op) {
  case FPW_ADD: put(b, "%s + %s", x, y); break;
  case FPW_SUB: put(b, "%s - %s", x, y); break;
  case FPW_MUL: put(b, "%s * %s", x, y); break;
  case FPW_DIV: put(b, "%s / %s", x, y); break;
  case FPW_MAX: put(b, "(%s > %s || %s != %s) ? %s : %s", x, y, x, x, x, y); break;
  case FPW_MIN: put(b, "(%s < %s || %s != %s) ? %s : %s", x, y, x, x, x, y); break;
  case FPW_PRELU: put(b, "%s < 0.f ? %s * %s : %s", x, x, y, x); break;
  case FPW_RELU: put(b, "%s > 0.f ? %s : 0.f", x, x); break;
  case FPW_LEAKY_RELU: put(b, "%s >= 0.f ? %s : %s * %s", x, x, c0, x); break;
  case FPW_SIGMOID: put(b, "1.f / (1.f + expf(-%s))", x); break;
  case FPW_TANH: put(b, "tanhf(%s)", x); break;
  case FPW_HARD_SIGMOID: put(b, "fmaxf(0.f, fminf(1.f, %s * %s + %s))", c0, x, c1); break;
  case FPW_HARD_SWISH: put(b, "%s * fmaxf(0.f, fminf(1.f, %s * %s + 0.5f))", x, x, k6); break;
  case FPW_CLIP: /* ONNX: min > max makes every element max */
    if (p->consts[ins->c] > p->consts[ins->c + 1]) put(b, "%s", c1);
    else put(b, "%s < %s ? %s : %s > %s ? %s : %s", x, c0, c0, x, c1, c1, x);
    break;
  case FPW_ELU: put(b, "%s >= 0.f ? %s : %s * expm1f(%s)", x, x, c0, x); break;
  case FPW_SOFTPLUS: put(b, "%s > 0.f ? %s + log1pf(expf(-%s)) : log1pf(expf(%s))", x, x, x, x); break;
  case FPW_EXP: put(b, "expf(%s)", x); break;
  case FPW_LOG: put(b, "logf(%s)", x); break;
  case FPW_SQRT: put(b, "sqrtf(%s)", x); break;
  case FPW_RECIPROCAL: put(b, "1.f / %s", x); break;
  case FPW_NEG: put(b, "-%s", x); break;
  case FPW_ABS: put(b, "fabsf(%s)", x); break;
  case FPW_ERF: put(b, "erff(%s)", x); break;
  default: return onyx_error(ONYX_ERR_UNSUPPORTED, "FusedPointwise opcode %d cannot be generated", ins->op);
  }
  put(b, "; /* %s */\n", fpw_name(ins->op));
  return ONYX_OK;
}

/* ---- the kernel -------------------------------------------------------------------- */

static const char prelude[] =
    "#ifndef ONYX_FPW_HOST\n"
    "static __device__ __forceinline__ float fpw_h2f(unsigned short h)\n"
    "{\n"
    "  float f;\n"
    "  asm(\"cvt.f32.f16 %0, %1;\" : \"=f\"(f) : \"h\"(h));\n"
    "  return f;\n"
    "}\n"
    "static __device__ __forceinline__ unsigned short fpw_f2h(float f)\n"
    "{\n"
    "  unsigned short h;\n"
    "  asm(\"cvt.rn.f16.f32 %0, %1;\" : \"=h\"(h) : \"f\"(f));\n"
    "  return h;\n"
    "}\n"
    "static __device__ __forceinline__ float fpw_bits(unsigned int u) { return __int_as_float((int)u); }\n"
    "#endif\n";

/* Reads input i at offset expression off into a float. */
static void put_load(sbuf *b, const fpw_kernel_desc *d, int i, const char *off)
{
  if (d->half_in[i]) put(b, "fpw_h2f(in%d[%s])", i, off);
  else put(b, "in%d[%s]", i, off);
}

/* One output element e: index, loads, evaluation, store. */
static void put_element(sbuf *b, const fpw_kernel_desc *d, const space *s, const char *ind)
{
  const char *u = s->wide ? "ull" : "u";
  if (s->need_idx && s->nd > 0) {
    bool used[ONYX_MAX_DIMS];
    int outer = s->nd; /* the outermost dim an offset uses */
    for (int k = 0; k < s->nd; k++) {
      used[k] = !s->out_contig;
      for (int i = 0; i < d->n_in; i++) used[k] = used[k] || (s->mode[i] == RD_STRIDED && s->in[i][k]);
      if (used[k] && outer == s->nd) outer = k;
    }
    put(b, "%sIDX r = e;\n", ind);
    for (int k = s->nd - 1; k > outer; k--) {
      if (used[k]) put(b, "%sconst IDX i%d = r %% %lld%s;\n", ind, k, (long long)s->dims[k], u);
      put(b, "%sr /= %lld%s;\n", ind, (long long)s->dims[k], u);
    }
    /* r < dims[outer] * (the extents outside it), and those are not read */
    if (outer == 0) put(b, "%sconst IDX i0 = r;\n", ind);
    else put(b, "%sconst IDX i%d = r %% %lld%s;\n", ind, outer, (long long)s->dims[outer], u);
  }
  for (int i = 0; i < d->n_in; i++) {
    if (s->mode[i] == RD_SCALAR) continue;
    char off[512] = "e";
    if (s->mode[i] == RD_STRIDED) {
      size_t n = 0;
      off[0] = '\0';
      for (int k = 0; k < s->nd; k++) {
        if (!s->in[i][k]) continue;
        n += (size_t)snprintf(off + n, sizeof(off) - n, "%si%d * %lld%s", n ? " + " : "", k,
                              (long long)s->in[i][k], u);
      }
    }
    put(b, "%sconst float a%d = ", ind, i);
    put_load(b, d, i, off);
    put(b, ";\n");
  }
  put(b, "%sconst float y = fpw_eval(", ind);
  for (int i = 0; i < d->n_in; i++) put(b, "%s%c%d", i ? ", " : "", s->mode[i] == RD_SCALAR ? 's' : 'a', i);
  put(b, ");\n");
  char off[512] = "e";
  if (!s->out_contig) {
    size_t n = 0;
    off[0] = '\0';
    for (int k = 0; k < s->nd; k++)
      n += (size_t)snprintf(off + n, sizeof(off) - n, "%si%d * %lld%s", n ? " + " : "", k,
                            (long long)s->out[k], u);
    if (!n) snprintf(off, sizeof(off), "0");
  }
  put(b, d->half_out ? "%sout[%s] = fpw_f2h(y);\n" : "%sout[%s] = y;\n", ind, off);
}

/* The 4-wide body for group q (every input full or scalar, output contiguous). */
static void put_vector_group(sbuf *b, const fpw_kernel_desc *d, const space *s)
{
  static const char lane[4] = {'x', 'y', 'z', 'w'};
  for (int i = 0; i < d->n_in; i++) {
    if (s->mode[i] == RD_SCALAR) continue; /* read before the loop */
    if (d->half_in[i]) put(b, "    const uint2 p%d = reinterpret_cast<const uint2 *>(in%d)[q];\n", i, i);
    else put(b, "    const float4 p%d = reinterpret_cast<const float4 *>(in%d)[q];\n", i, i);
  }
  for (int j = 0; j < FPW_VEC; j++) {
    put(b, "    const float y%d = fpw_eval(", j);
    for (int i = 0; i < d->n_in; i++) {
      put(b, "%s", i ? ", " : "");
      if (s->mode[i] == RD_SCALAR) put(b, "s%d", i);
      else if (d->half_in[i])
        put(b, "fpw_h2f((unsigned short)(p%d.%c %s))", i, lane[j / 2], j % 2 ? ">> 16" : "& 0xffffu");
      else put(b, "p%d.%c", i, lane[j]);
    }
    put(b, ");\n");
  }
  if (d->half_out) {
    put(b, "    uint2 o;\n");
    put(b, "    o.x = (unsigned int)fpw_f2h(y0) | ((unsigned int)fpw_f2h(y1) << 16);\n");
    put(b, "    o.y = (unsigned int)fpw_f2h(y2) | ((unsigned int)fpw_f2h(y3) << 16);\n");
    put(b, "    reinterpret_cast<uint2 *>(out)[q] = o;\n");
  } else {
    put(b, "    float4 o;\n    o.x = y0;\n    o.y = y1;\n    o.z = y2;\n    o.w = y3;\n");
    put(b, "    reinterpret_cast<float4 *>(out)[q] = o;\n");
  }
}

onyx_status fpw_codegen(const fpw_kernel_desc *d, char **src)
{
  *src = NULL;
  const fused_pointwise_params *p = d->prog;
  if (d->n_in < 1 || d->n_in > FPW_MAX_IN || p->n_instr < 1 || p->n_instr > FPW_MAX_INSTR || d->ndim < 0 ||
      d->ndim > ONYX_MAX_DIMS)
    return onyx_error(ONYX_ERR_UNSUPPORTED,
                      "FusedPointwise: %d inputs, %d instructions, rank %d cannot be generated", d->n_in,
                      p->n_instr, d->ndim);
  for (int k = 0; k < d->ndim; k++) {
    bool neg = d->dims[k] < 0 || d->out_strides[k] < 0;
    for (int i = 0; i < d->n_in; i++) neg = neg || d->in_strides[i][k] < 0;
    if (neg)
      return onyx_error(ONYX_ERR_UNSUPPORTED, "FusedPointwise: negative extent or stride in dim %d", k);
  }
  space s;
  simplify(d, &s);
  sbuf b = {0};
  const char *u = s.wide ? "ull" : "u";
  put(&b, "/* onyx FusedPointwise kernel (generated): %lld elements", (long long)s.total);
  for (int k = 0; k < s.nd; k++) put(&b, "%s%lld", k ? "x" : " as ", (long long)s.dims[k]);
  put(&b, "%s */\n", s.vec ? ", 4-wide" : "");
  put(&b, "%s", prelude);
  put(&b, "typedef %s IDX;\n", s.wide ? "unsigned long long" : "unsigned int");

  put(&b, "static __device__ __forceinline__ float fpw_eval(");
  for (int i = 0; i < d->n_in; i++) put(&b, "%sfloat v%d", i ? ", " : "", i);
  put(&b, ")\n{\n");
  onyx_status st = ONYX_OK;
  for (int k = 0; k < p->n_instr && st == ONYX_OK; k++) st = put_instr(&b, p, d->n_in, k);
  put(&b, "  return v%d;\n}\n", d->n_in + p->n_instr - 1);

  put(&b, "extern \"C\" __global__ void __launch_bounds__(%d) " FPW_KERNEL_NAME "(", FPW_BLOCK);
  for (int i = 0; i < d->n_in; i++)
    put(&b, "const %s *__restrict__ in%d, ", d->half_in[i] ? "unsigned short" : "float", i);
  put(&b, "%s *__restrict__ out)\n{\n", d->half_out ? "unsigned short" : "float");
  put(&b, "  const IDX tid = (IDX)blockIdx.x * blockDim.x + threadIdx.x;\n");
  put(&b, "  const IDX step = (IDX)gridDim.x * blockDim.x;\n");
  for (int i = 0; i < d->n_in; i++) {
    if (s.mode[i] != RD_SCALAR) continue;
    put(&b, "  const float s%d = ", i);
    put_load(&b, d, i, "0");
    put(&b, ";\n");
  }
  if (s.vec) {
    const int64_t groups = s.total / FPW_VEC, tail = groups * FPW_VEC;
    put(&b, "  for (IDX q = tid; q < %lld%s; q += step) {\n", (long long)groups, u);
    put_vector_group(&b, d, &s);
    put(&b, "  }\n");
    if (tail < s.total) {
      put(&b, "  for (IDX e = %lld%s + tid; e < %lld%s; e += step) {\n", (long long)tail, u,
          (long long)s.total, u);
      put_element(&b, d, &s, "    ");
      put(&b, "  }\n");
    }
  } else {
    put(&b, "  for (IDX e = tid; e < %lld%s; e += step) {\n", (long long)s.total, u);
    put_element(&b, d, &s, "    ");
    put(&b, "  }\n");
  }
  put(&b, "}\n");
  if (st == ONYX_OK && b.oom)
    st = onyx_error(ONYX_ERR_NO_MEMORY, "FusedPointwise: out of memory generating a kernel");
  if (st != ONYX_OK) {
    free(b.p);
    return st;
  }
  *src = b.p;
  return ONYX_OK;
}
