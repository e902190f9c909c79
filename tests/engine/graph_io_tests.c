/* Graph serialisation tests: ir_graph -> engine graph + weights sections -> ir_graph.
 *   onyx_graph_io_tests [MODELS_DIR]
 * - a hand-built graph with every attribute type, an omitted input, shared data pointers, and its prepared
 *   form: structure equal after a round trip, each array stored once, bit-identical outputs on the CPU;
 * - the real models in MODELS_DIR (skipped when absent), as loaded and as prepared (folded nodes, inferred
 *   shapes): structure equal, bit-identical outputs against the public session API;
 * - hand-encoded hostile sections (each refused with a message naming the field), truncation at every
 *   prefix length, and every single-byte corruption (refused cleanly or read into a well-formed graph). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend/cpu/cpu.h"
#include "common/status.h"
#include "common/util.h"
#include "engine/codec.h"
#include "engine/format.h"
#include "engine/graph_io.h"
#include "graph/prepare.h"
#include "ops/ops.h"
#include "runtime/model.h"

#include "check.h"

static int msg_has(const char *want) { return strstr(onyx_last_error(), want) != NULL; }

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng_next(void)
{
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}
static float rng_float(void) { return (float)((rng_next() >> 40) / (double)(1 << 24)) * 2.f - 1.f; }

/* ---- structural equality ------------------------------------------------ */

static char why[512];

static bool fail(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof(why), fmt, ap);
  va_end(ap);
  return false;
}

static bool str_eq(const char *a, const char *b) { return strcmp(a ? a : "", b ? b : "") == 0; }
static bool stored(const ir_tensor *t) { return t->is_const && t->data; }

static bool tensor_eq(const ir_tensor *a, const ir_tensor *b)
{
  if (!str_eq(a->name, b->name)) return fail("tensor name '%s' vs '%s'", a->name, b->name);
  if (a->dtype != b->dtype || a->ndim != b->ndim) return fail("tensor '%s': dtype/rank differ", a->name);
  for (int d = 0; d < a->ndim; d++) {
    if (a->dims[d] != b->dims[d]) return fail("tensor '%s': dimension %d differs", a->name, d);
    if (!a->dim_param[d] != !b->dim_param[d] || !str_eq(a->dim_param[d], b->dim_param[d]))
      return fail("tensor '%s': dim_param %d differs", a->name, d);
  }
  if (a->is_const != b->is_const || a->is_initializer != b->is_initializer ||
      a->value_wanted != b->value_wanted)
    return fail("tensor '%s': flags differ", a->name);
  if (stored(a) != stored(b)) return fail("tensor '%s': data stored in one only", a->name);
  if (stored(a) && memcmp(a->data, b->data, ir_tensor_bytes(a)) != 0)
    return fail("tensor '%s': data differs", a->name);
  return true;
}

static bool attr_eq(const ir_attr *a, const ir_attr *b)
{
  if (!str_eq(a->name, b->name) || a->type != b->type) return fail("attribute '%s' name/type", a->name);
  switch (a->type) {
  case IR_ATTR_FLOAT: return memcmp(&a->f, &b->f, 4) == 0 || fail("attribute '%s' value", a->name);
  case IR_ATTR_INT: return a->i == b->i || fail("attribute '%s' value", a->name);
  case IR_ATTR_STRING: return str_eq(a->s, b->s) || fail("attribute '%s' value", a->name);
  case IR_ATTR_FLOATS:
    return (a->n == b->n && (!a->n || memcmp(a->floats, b->floats, a->n * 4) == 0)) ||
           fail("attribute '%s' values", a->name);
  case IR_ATTR_INTS:
    return (a->n == b->n && (!a->n || memcmp(a->ints, b->ints, a->n * 8) == 0)) ||
           fail("attribute '%s' values", a->name);
  case IR_ATTR_STRINGS:
    if (a->n != b->n) return fail("attribute '%s' count", a->name);
    for (size_t i = 0; i < a->n; i++)
      if (!str_eq(a->strings[i], b->strings[i])) return fail("attribute '%s' string %zu", a->name, i);
    return true;
  case IR_ATTR_TENSOR: return tensor_eq(a->t, b->t);
  default: return true;
  }
}

static bool graph_eq(const ir_graph *a, const ir_graph *b)
{
  if (a->ir_version != b->ir_version || !str_eq(a->producer_name, b->producer_name) ||
      !str_eq(a->producer_version, b->producer_version) || !str_eq(a->graph_name, b->graph_name))
    return fail("metadata differs");
  if (a->n_opsets != b->n_opsets) return fail("opset count %d vs %d", a->n_opsets, b->n_opsets);
  for (int i = 0; i < a->n_opsets; i++)
    if (!str_eq(a->opsets[i].domain, b->opsets[i].domain) || a->opsets[i].version != b->opsets[i].version)
      return fail("opset %d differs", i);
  if (a->n_tensors != b->n_tensors) return fail("tensor count %d vs %d", a->n_tensors, b->n_tensors);
  for (int i = 0; i < a->n_tensors; i++) {
    if (!tensor_eq(&a->tensors[i], &b->tensors[i])) return false;
    if (a->tensors[i].producer != b->tensors[i].producer) return fail("tensor %d producer differs", i);
    if (ir_find_tensor(b, a->tensors[i].name) != i)
      return fail("tensor '%s' not found by name", a->tensors[i].name);
  }
  if (a->n_nodes != b->n_nodes) return fail("node count %d vs %d", a->n_nodes, b->n_nodes);
  for (int i = 0; i < a->n_nodes; i++) {
    const ir_node *x = &a->nodes[i], *y = &b->nodes[i];
    if (!str_eq(x->name, y->name) || !str_eq(x->op_type, y->op_type) || !str_eq(x->domain, y->domain) ||
        x->op != y->op || x->opset != y->opset || x->folded != y->folded)
      return fail("node %d ('%s') header differs", i, x->name);
    if (x->n_in != y->n_in || x->n_out != y->n_out || x->n_attrs != y->n_attrs)
      return fail("node '%s' counts differ", x->name);
    if ((x->n_in && memcmp(x->in, y->in, (size_t)x->n_in * sizeof(int))) ||
        (x->n_out && memcmp(x->out, y->out, (size_t)x->n_out * sizeof(int))))
      return fail("node '%s' inputs/outputs differ", x->name);
    for (int k = 0; k < x->n_attrs; k++)
      if (!attr_eq(&x->attrs[k], &y->attrs[k])) return false;
    if (!x->params != !y->params) return fail("node '%s' params", x->name);
  }
  if (a->n_inputs != b->n_inputs || a->n_outputs != b->n_outputs) return fail("graph input/output counts");
  if ((a->n_inputs && memcmp(a->inputs, b->inputs, (size_t)a->n_inputs * sizeof(int))) ||
      (a->n_outputs && memcmp(a->outputs, b->outputs, (size_t)a->n_outputs * sizeof(int))))
    return fail("graph inputs/outputs differ");
  return true;
}

/* ---- round trip ----------------------------------------------------------- */

typedef struct sections {
  uint8_t *graph, *weights;
  size_t graph_size, weights_size;
} sections;

static void sections_free(sections *s)
{
  free(s->graph);
  free(s->weights);
  memset(s, 0, sizeof(*s));
}

static onyx_status write_sections(const ir_graph *g, sections *s)
{
  eng_writer gw, ww;
  eng_writer_init(&gw);
  eng_writer_init(&ww);
  onyx_status st = eng_graph_write(g, &gw, &ww);
  memset(s, 0, sizeof(*s));
  if (st == ONYX_OK) {
    s->graph = eng_writer_take(&gw, &s->graph_size);
    s->weights = eng_writer_take(&ww, &s->weights_size);
  }
  eng_writer_free(&gw);
  eng_writer_free(&ww);
  return st;
}

/* The weights section holds each distinct array once: its size rounded up to the alignment is the sum
 * of the distinct arrays' sizes, each rounded up. */
static size_t align_up(size_t n) { return (n + ENG_GRAPH_ALIGN - 1) / ENG_GRAPH_ALIGN * ENG_GRAPH_ALIGN; }

typedef struct arr {
  const void *p;
  size_t size;
} arr;
static int arr_cmp(const void *a, const void *b)
{
  const arr *x = a, *y = b;
  return x->p < y->p ? -1 : x->p > y->p;
}

/* Distinct non-empty arrays (by pointer), references to data, and empty arrays among those. */
static size_t distinct_aligned_bytes(const ir_graph *g, int *n_arrays, int *n_refs, int *n_empty)
{
  size_t cap = (size_t)g->n_tensors + 1, n = 0, total = 0;
  for (int i = 0; i < g->n_nodes; i++) cap += (size_t)g->nodes[i].n_attrs;
  arr *v = malloc(cap * sizeof(*v));
  for (int i = 0; i < g->n_tensors; i++)
    if (stored(&g->tensors[i])) v[n++] = (arr){g->tensors[i].data, ir_tensor_bytes(&g->tensors[i])};
  for (int i = 0; i < g->n_nodes; i++)
    for (int k = 0; k < g->nodes[i].n_attrs; k++) {
      const ir_attr *a = &g->nodes[i].attrs[k];
      if (a->type == IR_ATTR_TENSOR && stored(a->t)) v[n++] = (arr){a->t->data, ir_tensor_bytes(a->t)};
    }
  qsort(v, n, sizeof(*v), arr_cmp);
  *n_refs = (int)n;
  *n_arrays = *n_empty = 0;
  for (size_t i = 0, j; i < n; i = j) {
    if (!v[i].size) {
      (*n_empty)++;
      j = i + 1;
      continue;
    }
    size_t m = 0;
    for (j = i; j < n && v[j].p == v[i].p; j++)
      if (v[j].size > m) m = v[j].size;
    total += align_up(m);
    (*n_arrays)++;
  }
  free(v);
  return total;
}

/* Writes g, reads it back, checks structure and storage; returns the copy (NULL on failure). */
static ir_graph *round_trip(const char *label, const ir_graph *g, sections *s)
{
  ir_graph *back = NULL;
  onyx_status st = write_sections(g, s);
  CHECKF(st == ONYX_OK, "%s: write: %s", label, onyx_last_error());
  if (st != ONYX_OK) return NULL;
  st = eng_graph_read(s->graph, s->graph_size, s->weights, s->weights_size, &back);
  CHECKF(st == ONYX_OK, "%s: read: %s", label, onyx_last_error());
  if (st != ONYX_OK) return NULL;
  CHECKF(graph_eq(g, back), "%s: graphs differ after a round trip: %s", label, why);
  int n_arrays, n_refs, n_empty;
  size_t want = distinct_aligned_bytes(g, &n_arrays, &n_refs, &n_empty);
  CHECKF(align_up(s->weights_size) == want, "%s: weights section of %zu bytes, %d distinct arrays need %zu",
        label, s->weights_size, n_arrays, want);
  /* shared arrays come back shared, with exactly one owner each; empty ones each get their own */
  int back_arrays, back_refs, back_empty, owners = 0;
  distinct_aligned_bytes(back, &back_arrays, &back_refs, &back_empty);
  for (int i = 0; i < back->n_tensors; i++) owners += back->tensors[i].owns_data;
  for (int i = 0; i < back->n_nodes; i++)
    for (int k = 0; k < back->nodes[i].n_attrs; k++)
      if (back->nodes[i].attrs[k].type == IR_ATTR_TENSOR) owners += back->nodes[i].attrs[k].t->owns_data;
  CHECKF(back_arrays == n_arrays && back_refs == n_refs && back_empty == n_empty &&
            owners == n_arrays + n_empty,
        "%s: %d arrays/%d refs/%d empty written, %d arrays/%d refs/%d empty/%d owners read", label, n_arrays,
        n_refs, n_empty, back_arrays, back_refs, back_empty, owners);
  printf(
      "  %s: %d tensors, %d nodes, graph section %zu bytes, weights %zu bytes (%d arrays for %d tensors%s)\n",
      label, g->n_tensors, g->n_nodes, s->graph_size, s->weights_size, n_arrays, n_refs,
      n_empty ? ", some empty" : "");
  return back;
}

/* ---- running ---------------------------------------------------------------- */

typedef struct run_inputs {
  int n;
  char **names;
  onyx_dtype *dtypes;
  int *ndims;
  int64_t (*dims)[ONYX_MAX_DIMS];
  void **data;
} run_inputs;

static void run_inputs_free(run_inputs *in)
{
  for (int i = 0; i < in->n; i++) {
    free(in->names[i]);
    free(in->data[i]);
  }
  free(in->names);
  free(in->dtypes);
  free(in->ndims);
  free(in->dims);
  free(in->data);
  memset(in, 0, sizeof(*in));
}

/* Seeded random data for every input of m; symbolic dimensions become 1. */
static void make_inputs(const onyx_model *m, uint64_t seed, run_inputs *in)
{
  rng_state = seed;
  in->n = onyx_model_num_inputs(m);
  size_t n = (size_t)(in->n ? in->n : 1);
  in->names = calloc(n, sizeof(char *));
  in->dtypes = calloc(n, sizeof(onyx_dtype));
  in->ndims = calloc(n, sizeof(int));
  in->dims = calloc(n, sizeof(*in->dims));
  in->data = calloc(n, sizeof(void *));
  for (int i = 0; i < in->n; i++) {
    onyx_tensor_info info;
    onyx_model_input(m, i, &info);
    in->names[i] = onyx_strdup(info.name);
    in->dtypes[i] = info.dtype;
    in->ndims[i] = info.ndim;
    for (int d = 0; d < info.ndim; d++) in->dims[i][d] = info.dims[d] < 0 ? 1 : info.dims[d];
    int64_t numel = onyx_numel(info.ndim, in->dims[i]);
    size_t esz = onyx_dtype_size(info.dtype);
    in->data[i] = calloc((size_t)numel + 1, esz ? esz : 1);
    for (int64_t k = 0; k < numel; k++) {
      if (info.dtype == ONYX_DTYPE_FLOAT)
        ((float *)in->data[i])[k] = rng_float();
      else if (info.dtype == ONYX_DTYPE_INT64)
        ((int64_t *)in->data[i])[k] = (int64_t)(rng_next() % 4);
    }
  }
}

/* Outputs of one run, copied. */
typedef struct run_outputs {
  int n;
  onyx_tensor_info info[16];
  void *data[16];
  size_t bytes[16];
} run_outputs;

static void run_outputs_free(run_outputs *o)
{
  for (int i = 0; i < o->n; i++) free(o->data[i]);
  memset(o, 0, sizeof(*o));
}

static onyx_status run_session(const onyx_model *m, const run_inputs *in, run_outputs *out)
{
  onyx_session *s;
  memset(out, 0, sizeof(*out));
  ONYX_TRY(onyx_session_create(m, NULL, &s));
  onyx_status st = ONYX_OK;
  for (int i = 0; st == ONYX_OK && i < in->n; i++)
    st = onyx_session_set_input(s, in->names[i], in->dtypes[i], in->ndims[i], in->dims[i], in->data[i]);
  if (st == ONYX_OK) st = onyx_session_run(s);
  for (int i = 0; st == ONYX_OK && i < onyx_model_num_outputs(m) && i < 16; i++) {
    const void *d;
    st = onyx_session_output(s, i, &out->info[i], &d);
    if (st != ONYX_OK) break;
    out->bytes[i] =
        (size_t)onyx_numel(out->info[i].ndim, out->info[i].dims) * onyx_dtype_size(out->info[i].dtype);
    out->data[i] = malloc(out->bytes[i] + 1);
    memcpy(out->data[i], d, out->bytes[i]);
    out->info[i].name = NULL; /* points into the session */
    for (int d2 = 0; d2 < ONYX_MAX_DIMS; d2++) out->info[i].dim_params[d2] = NULL;
    out->n++;
  }
  onyx_session_free(s);
  return st;
}

/* Executes a prepared graph as stored (folded values from the file, not recomputed): buffers for what
 * nodes compute, the inputs bound, every unfolded node's CPU kernel in order. */
static onyx_status run_prepared(ir_graph *g, const run_inputs *in, run_outputs *out)
{
  memset(out, 0, sizeof(*out));
  for (int i = 0; i < g->n_tensors; i++) {
    ir_tensor *t = &g->tensors[i];
    if (t->is_const || t->data || t->producer < 0) continue;
    if (!(t->data = onyx_calloc(1, ir_tensor_bytes(t) + 1))) return ONYX_ERR_NO_MEMORY;
    t->owns_data = true;
  }
  for (int i = 0; i < g->n_inputs; i++) g->tensors[g->inputs[i]].data = in->data[i];
  cpu_ctx cpu;
  cpu_ctx_init(&cpu, 0);
  onyx_status st = ONYX_OK;
  for (int i = 0; st == ONYX_OK && i < g->n_nodes; i++)
    if (!g->nodes[i].folded) st = cpu_kernels[g->nodes[i].op](&cpu, g, &g->nodes[i]);
  cpu_ctx_free(&cpu);
  for (int i = 0; st == ONYX_OK && i < g->n_outputs && i < 16; i++) {
    const ir_tensor *t = &g->tensors[g->outputs[i]];
    model_tensor_info(t, &out->info[i]);
    out->info[i].name = NULL;
    for (int d = 0; d < ONYX_MAX_DIMS; d++) out->info[i].dim_params[d] = NULL;
    out->bytes[i] = ir_tensor_bytes(t);
    out->data[i] = malloc(out->bytes[i] + 1);
    memcpy(out->data[i], t->data, out->bytes[i]);
    out->n++;
  }
  for (int i = 0; i < g->n_inputs; i++) g->tensors[g->inputs[i]].data = NULL; /* the caller's */
  return st;
}

static void check_same_outputs(const char *label, const run_outputs *a, const run_outputs *b)
{
  CHECKF(a->n == b->n && a->n > 0, "%s: %d vs %d outputs", label, a->n, b->n);
  for (int i = 0; i < a->n && i < b->n; i++) {
    bool shape = a->info[i].dtype == b->info[i].dtype && a->info[i].ndim == b->info[i].ndim &&
                 memcmp(a->info[i].dims, b->info[i].dims, sizeof(a->info[i].dims)) == 0;
    CHECKF(shape && a->bytes[i] == b->bytes[i], "%s: output %d shape differs", label, i);
    if (shape && a->bytes[i] == b->bytes[i])
      CHECKF(memcmp(a->data[i], b->data[i], a->bytes[i]) == 0, "%s: output %d is not bit-identical", label, i);
  }
}

/* ---- the hand-built graph ------------------------------------------------- */

static int add_tensor(ir_graph *g, const char *name, onyx_dtype dt, int ndim, const int64_t *dims)
{
  int t = ir_add_tensor(g, name);
  ir_tensor_set(&g->tensors[t], dt, ndim, dims);
  return t;
}

static void *set_const(ir_tensor *t, const void *values)
{
  t->data = malloc(ir_tensor_bytes(t) + 1);
  memcpy(t->data, values, ir_tensor_bytes(t));
  t->owns_data = true;
  t->is_const = true;
  return t->data;
}

static void add_node(ir_graph *g, const char *name, const char *op, int n_in, const int *in, int n_out,
                     const int *out, int n_attrs, ir_attr *attrs)
{
  ir_node n;
  memset(&n, 0, sizeof(n));
  n.name = onyx_strdup(name);
  n.op_type = onyx_strdup(op);
  n.domain = onyx_strdup("");
  n.opset = 13;
  n.op = op_lookup("", op);
  n.n_in = n_in;
  n.n_out = n_out;
  n.in = malloc(sizeof(int) * (size_t)(n_in ? n_in : 1));
  n.out = malloc(sizeof(int) * (size_t)(n_out ? n_out : 1));
  if (n_in) memcpy(n.in, in, sizeof(int) * (size_t)n_in);
  memcpy(n.out, out, sizeof(int) * (size_t)n_out);
  n.n_attrs = n_attrs;
  n.attrs = attrs;
  for (int k = 0; k < n_out; k++) g->tensors[out[k]].producer = g->n_nodes;
  CHECKF(n.op >= 0, "op %s", op);
  ir_add_node(g, &n);
  CHECKF(op_table[n.op].parse(&g->nodes[g->n_nodes - 1]) == ONYX_OK, "parse %s: %s", name, onyx_last_error());
}

static ir_tensor *standalone_tensor(const char *name, onyx_dtype dt, int ndim, const int64_t *dims,
                                    const void *values)
{
  ir_tensor *t = calloc(1, sizeof(*t));
  t->name = onyx_strdup(name);
  t->producer = -1;
  ir_tensor_set(t, dt, ndim, dims);
  set_const(t, values);
  return t;
}

/* E: an unused empty initializer.  X[2,4] -> Add W -> Add W2 (W's data, shared) -> Add Constant C -> Clip(min
 * omitted, max M) -> Identity carrying an attribute of every type -> Z.  Z = min(X + 2W + C, 0.75). */
static ir_graph *build_sample(void)
{
  ir_graph *g = ir_graph_new();
  g->ir_version = 8;
  g->producer_name = onyx_strdup("graph_io_tests");
  g->producer_version = onyx_strdup("1");
  g->graph_name = onyx_strdup("sample");
  g->opsets = calloc(2, sizeof(ir_opset));
  g->opsets[0] = (ir_opset){onyx_strdup(""), 13};
  g->opsets[1] = (ir_opset){onyx_strdup("com.example"), 1};
  g->n_opsets = 2;
  static const int64_t d24[] = {2, 4}, d4[] = {4}, d23[] = {2, 3};
  static const float w[] = {0.5f, -0.25f, 1.0f, 0.125f}, c[] = {0.1f, 0.2f, -0.3f, 0.4f}, mx = 0.75f;
  static const int64_t tv[] = {1, -2, 3, -4, 5, INT64_MIN};
  int X = add_tensor(g, "X", ONYX_DTYPE_FLOAT, 2, d24);
  g->tensors[X].dim_param[0] = onyx_strdup("batch");
  int E = add_tensor(g, "E", ONYX_DTYPE_FLOAT, 1, (int64_t[]){0}); /* empty: no room in the weights */
  g->tensors[E].is_initializer = true;
  set_const(&g->tensors[E], w);
  int W = add_tensor(g, "W", ONYX_DTYPE_FLOAT, 1, d4);
  int W2 = add_tensor(g, "W2", ONYX_DTYPE_FLOAT, 1, d4);
  int M = add_tensor(g, "M", ONYX_DTYPE_FLOAT, 0, NULL);
  g->tensors[W].is_initializer = g->tensors[W2].is_initializer = g->tensors[M].is_initializer = true;
  set_const(&g->tensors[W], w);
  g->tensors[W2].data = g->tensors[W].data; /* one array, two tensors */
  g->tensors[W2].is_const = true;
  set_const(&g->tensors[M], &mx);
  int C = ir_add_tensor(g, "C"), A = ir_add_tensor(g, "A"), B = ir_add_tensor(g, "B");
  int Y1 = ir_add_tensor(g, "Y1"), Y = ir_add_tensor(g, "Y"), Z = ir_add_tensor(g, "Z");
  g->tensors[Z].dim_param[1] = onyx_strdup("features");
  ir_tensor_set(&g->tensors[Z], ONYX_DTYPE_FLOAT, 2, (int64_t[]){2, -1});

  ir_attr *ca = calloc(1, sizeof(ir_attr));
  ca->name = onyx_strdup("value");
  ca->type = IR_ATTR_TENSOR;
  ca->t = standalone_tensor("value", ONYX_DTYPE_FLOAT, 1, d4, c);
  add_node(g, "const_c", "Constant", 0, NULL, 1, &C, 1, ca);
  add_node(g, "add_w", "Add", 2, (int[]){X, W}, 1, &A, 0, NULL);
  add_node(g, "add_w2", "Add", 2, (int[]){A, W2}, 1, &B, 0, NULL);
  add_node(g, "add_c", "Add", 2, (int[]){B, C}, 1, &Y1, 0, NULL);
  add_node(g, "clip", "Clip", 3, (int[]){Y1, -1, M}, 1, &Y, 0, NULL);

  ir_attr *at = calloc(10, sizeof(ir_attr));
  at[0] = (ir_attr){.name = onyx_strdup("f"), .type = IR_ATTR_FLOAT, .f = -0.0f};
  at[1] = (ir_attr){.name = onyx_strdup("i"), .type = IR_ATTR_INT, .i = INT64_MIN + 1};
  at[2] = (ir_attr){.name = onyx_strdup("s"), .type = IR_ATTR_STRING, .s = onyx_strdup("nearest \xc3\xa9")};
  at[3] = (ir_attr){.name = onyx_strdup("floats"), .type = IR_ATTR_FLOATS, .n = 3, .floats = malloc(12)};
  memcpy(at[3].floats, (float[]){1.5f, -2.f, 1e-30f}, 12);
  at[4] = (ir_attr){.name = onyx_strdup("ints"), .type = IR_ATTR_INTS, .n = 4, .ints = malloc(32)};
  memcpy(at[4].ints, (int64_t[]){0, 1, -1, INT64_MAX}, 32);
  at[5] = (ir_attr){.name = onyx_strdup("strings"), .type = IR_ATTR_STRINGS, .n = 3, .strings = calloc(3, 8)};
  at[5].strings[0] = onyx_strdup("a");
  at[5].strings[1] = onyx_strdup("");
  at[5].strings[2] = onyx_strdup("ccc");
  at[6] = (ir_attr){.name = onyx_strdup("t"),
                    .type = IR_ATTR_TENSOR,
                    .t = standalone_tensor("t", ONYX_DTYPE_INT64, 2, d23, tv)};
  at[7] = (ir_attr){.name = onyx_strdup("subgraph"), .type = IR_ATTR_OTHER};
  at[8] = (ir_attr){.name = onyx_strdup("empty"), .type = IR_ATTR_INTS, .n = 0, .ints = malloc(8)};
  at[9] = (ir_attr){.name = onyx_strdup("s_empty"), .type = IR_ATTR_STRING, .s = onyx_strdup("")};
  add_node(g, "ident", "Identity", 1, &Y, 1, &Z, 10, at);

  g->inputs = malloc(sizeof(int));
  g->inputs[g->n_inputs++] = X;
  g->outputs = malloc(sizeof(int));
  g->outputs[g->n_outputs++] = Z;
  CHECKF(graph_toposort(g) == ONYX_OK, "toposort: %s", onyx_last_error());
  return g;
}

static void test_sample(void)
{
  printf("hand-built graph\n");
  ir_graph *g = build_sample();
  sections s;
  ir_graph *back = round_trip("sample", g, &s);
  if (!back) {
    ir_graph_free(g);
    return;
  }
  int W = ir_find_tensor(back, "W"), W2 = ir_find_tensor(back, "W2");
  CHECKF(back->tensors[W].data == back->tensors[W2].data &&
            back->tensors[W].owns_data + back->tensors[W2].owns_data == 1,
        "W and W2 share one owned copy");
  int Y = ir_find_tensor(back, "Y");
  CHECKF(Y >= 0 && back->tensors[Y].producer >= 0 && back->nodes[back->tensors[Y].producer].in[1] == -1,
        "Clip's omitted min stays omitted");
  /* a second round trip of the copy gives the same bytes */
  sections s2;
  CHECKF(write_sections(back, &s2) == ONYX_OK && s2.graph_size == s.graph_size &&
            s2.weights_size == s.weights_size && memcmp(s2.graph, s.graph, s.graph_size) == 0 &&
            memcmp(s2.weights, s.weights, s.weights_size) == 0,
        "re-serialising the copy gives identical sections");
  sections_free(&s2);

  /* the model wrapper runs both; outputs bit-identical, and what the graph says */
  onyx_model *m1 = NULL, *m2 = NULL;
  CHECKF(model_from_graph(g, &m1) == ONYX_OK, "model 1: %s", onyx_last_error());
  CHECKF(model_from_graph(back, &m2) == ONYX_OK, "model 2: %s", onyx_last_error());
  if (m1 && m2) {
    run_inputs in;
    run_outputs o1, o2;
    make_inputs(m1, 42, &in);
    CHECKF(run_session(m1, &in, &o1) == ONYX_OK, "run 1: %s", onyx_last_error());
    CHECKF(run_session(m2, &in, &o2) == ONYX_OK, "run 2: %s", onyx_last_error());
    check_same_outputs("sample", &o1, &o2);
    static const float w[] = {0.5f, -0.25f, 1.0f, 0.125f}, c[] = {0.1f, 0.2f, -0.3f, 0.4f};
    int bad = 0;
    for (int k = 0; o1.n && k < 8; k++) {
      float x = ((float *)in.data[0])[k], want = x + w[k % 4] + w[k % 4] + c[k % 4];
      want = want > 0.75f ? 0.75f : want;
      bad += ((float *)o1.data[0])[k] != want;
    }
    CHECKF(o1.n && bad == 0, "sample computes min(X + 2W + C, 0.75): %d values wrong", bad);

    /* prepared: Constant's output now aliases its attribute, Add/Clip fold nothing (X is an input) */
    ir_graph *p = ir_graph_clone(m1->g);
    cpu_ctx cpu;
    cpu_ctx_init(&cpu, 0);
    CHECKF(graph_prepare(p, &cpu) == ONYX_OK, "prepare: %s", onyx_last_error());
    cpu_ctx_free(&cpu);
    sections sp;
    ir_graph *pb = round_trip("sample prepared", p, &sp);
    if (pb) {
      int C = ir_find_tensor(pb, "C");
      const ir_node *cn = &pb->nodes[pb->tensors[C].producer];
      CHECKF(cn->folded && pb->tensors[C].data == cn->attrs[0].t->data && cn->attrs[0].t->owns_data &&
                !pb->tensors[C].owns_data,
            "a folded Constant's output shares its attribute's copy, owned by the attribute");
      run_outputs o3;
      CHECKF(run_prepared(pb, &in, &o3) == ONYX_OK, "run prepared copy: %s", onyx_last_error());
      check_same_outputs("sample prepared", &o1, &o3);
      run_outputs_free(&o3);
      ir_graph_free(pb);
    }
    sections_free(&sp);
    ir_graph_free(p);
    run_outputs_free(&o1);
    run_outputs_free(&o2);
    run_inputs_free(&in);
  }
  onyx_model_free(m1);
  onyx_model_free(m2);
  sections_free(&s);
}

/* ---- truncation and corruption ----------------------------------------------- */

static bool clean_refusal(onyx_status st)
{
  return st != ONYX_OK && st != ONYX_ERR_INTERNAL && st != ONYX_ERR_NO_MEMORY && onyx_last_error()[0];
}

static void check_truncation(const char *label, const sections *s)
{
  int bad = 0;
  for (size_t len = 0; len < s->graph_size; len++) {
    uint8_t *cut = malloc(len ? len : 1); /* exactly len bytes, so ASan sees any read past them */
    memcpy(cut, s->graph, len);
    ir_graph *g = NULL;
    onyx_status st = eng_graph_read(cut, len, s->weights, s->weights_size, &g);
    if (!clean_refusal(st) || g) {
      if (bad++ < 5)
        fprintf(stderr, "  %s: prefix of %zu bytes: status %d, '%s'\n", label, len, st, onyx_last_error());
      ir_graph_free(g);
    }
    free(cut);
  }
  CHECKF(bad == 0, "%s: %d of %zu graph prefixes not refused cleanly", label, bad, s->graph_size);
  /* the weights cut anywhere inside the last array */
  bad = 0;
  size_t from = s->weights_size > 4096 ? s->weights_size - 4096 : 0, tried = 0;
  for (size_t len = from; len < s->weights_size; len++, tried++) {
    uint8_t *cut = malloc(len ? len : 1);
    memcpy(cut, s->weights, len);
    ir_graph *g = NULL;
    onyx_status st = eng_graph_read(s->graph, s->graph_size, cut, len, &g);
    if (!clean_refusal(st) || g || !msg_has("weights section")) {
      if (bad++ < 5) fprintf(stderr, "  %s: weights cut to %zu bytes: '%s'\n", label, len, onyx_last_error());
      ir_graph_free(g);
    }
    free(cut);
  }
  CHECKF(bad == 0, "%s: %d of %zu weights prefixes not refused cleanly", label, bad, tried);
  printf("  %s: %zu graph prefixes and %zu weights prefixes refused\n", label, s->graph_size, tried);
}

static void check_corruption(const char *label, const sections *s)
{
  static const int how[] = {0x01, 0x80, -1 /* 0x00 */, -2 /* 0xff */};
  int bad = 0, refused = 0, accepted = 0;
  uint8_t *buf = malloc(s->graph_size);
  for (size_t pos = 0; pos < s->graph_size; pos++) {
    for (size_t h = 0; h < ONYX_ARRAY_LEN(how); h++) {
      memcpy(buf, s->graph, s->graph_size);
      uint8_t v = how[h] == -1 ? 0x00 : how[h] == -2 ? 0xff : (uint8_t)(buf[pos] ^ how[h]);
      if (v == buf[pos]) continue;
      buf[pos] = v;
      ir_graph *g = NULL;
      onyx_status st = eng_graph_read(buf, s->graph_size, s->weights, s->weights_size, &g);
      if (st == ONYX_OK) {
        /* a changed name, value or dimension can still describe a well-formed graph: it must write again */
        sections again;
        accepted++;
        if (!g || write_sections(g, &again) != ONYX_OK) {
          if (bad++ < 5)
            fprintf(stderr, "  %s: byte %zu = 0x%02x accepted but not writable\n", label, pos, v);
        } else {
          sections_free(&again);
        }
        ir_graph_free(g);
      } else if (!clean_refusal(st) || g) {
        if (bad++ < 5)
          fprintf(stderr, "  %s: byte %zu = 0x%02x: status %d '%s'\n", label, pos, v, st, onyx_last_error());
        ir_graph_free(g);
      } else {
        refused++;
      }
    }
  }
  free(buf);
  CHECKF(bad == 0, "%s: %d single-byte corruptions mishandled", label, bad);
  CHECKF(refused > accepted, "%s: only %d of %d corruptions refused", label, refused, refused + accepted);
  printf("  %s: %d single-byte corruptions refused, %d read as another well-formed graph\n", label, refused,
         accepted);
}

/* ---- hostile sections, encoded by hand ------------------------------------- */

/* Knobs on a minimal section: tensors X (input, float [2]), W (initializer, float [2] at weights 0),
 * Y (unknown shape); node "add" = Add(X, W) -> Y; inputs [X], outputs [Y]. */
typedef struct knobs {
  uint32_t tag, version, n_tensors, w_dtype, w_flags, node_in1, n_attrs, attr_type, n_outputs, output0,
      input0;
  uint8_t w_rank, node_flags;
  int64_t w_dim0, opset;
  uint64_t w_offset, w_size;
  const char *op_type, *domain, *y_name;
  bool trailing, second_node_writes_y, use_before_def, overlap, huge_ints;
} knobs;

static knobs base_knobs(void)
{
  return (knobs){.tag = ENG_GRAPH_TAG,
                 .version = ENG_GRAPH_VERSION,
                 .n_tensors = 3,
                 .w_dtype = ONYX_DTYPE_FLOAT,
                 .w_flags = ENG_TF_CONST | ENG_TF_INITIALIZER | ENG_TF_DATA,
                 .node_in1 = 1,
                 .n_attrs = 0,
                 .n_outputs = 1,
                 .output0 = 2,
                 .input0 = 0,
                 .w_rank = 1,
                 .w_dim0 = 2,
                 .opset = 13,
                 .w_offset = 0,
                 .w_size = 8,
                 .op_type = "Add",
                 .domain = "",
                 .y_name = "Y"};
}

static void enc_tensor(eng_writer *w, const char *name, uint32_t dt, uint8_t rank, const int64_t *dims,
                       uint8_t flags, uint64_t off, uint64_t size)
{
  eng_put_string(w, name);
  eng_put_u32(w, dt);
  eng_put_u8(w, rank);
  for (int d = 0; d < rank && rank != 0xff; d++) eng_put_i64(w, dims[d]);
  for (int d = 0; d < rank && rank != 0xff; d++) eng_put_u8(w, 0);
  eng_put_u8(w, flags);
  if (flags & ENG_TF_DATA) {
    eng_put_u64(w, off);
    eng_put_u64(w, size);
  }
}

static void enc_node(eng_writer *w, const char *name, const char *op, const char *domain, int64_t opset,
                     uint8_t flags, int n_in, const uint32_t *in, uint32_t out)
{
  eng_put_string(w, name);
  eng_put_string(w, op);
  eng_put_string(w, domain);
  eng_put_i64(w, opset);
  eng_put_u8(w, flags);
  eng_put_u32(w, (uint32_t)n_in);
  for (int i = 0; i < n_in; i++) eng_put_u32(w, in[i]);
  eng_put_u32(w, 1);
  eng_put_u32(w, out);
}

static void encode(const knobs *k, eng_writer *w)
{
  eng_put_u32(w, k->tag);
  eng_put_u32(w, k->version);
  eng_put_i64(w, 8);
  eng_put_string(w, "hand");
  eng_put_string(w, "1");
  eng_put_string(w, "g");
  eng_put_u32(w, 1);
  eng_put_string(w, "");
  eng_put_i64(w, 13);
  eng_put_u32(w, k->n_tensors + (k->overlap ? 1 : 0));
  static const int64_t d2[] = {2};
  enc_tensor(w, "X", ONYX_DTYPE_FLOAT, 1, d2, 0, 0, 0);
  int64_t wd[ONYX_MAX_DIMS + 4] = {k->w_dim0, 2, 2, 2, 2, 2, 2, 2, 2, 2};
  enc_tensor(w, "W", k->w_dtype, k->w_rank, wd, (uint8_t)k->w_flags, k->w_offset, k->w_size);
  enc_tensor(w, k->y_name, 0, 0xff, NULL, 0, 0, 0);
  if (k->overlap) /* V: 2 floats at 256, inside W's 128 floats at 0 */
    enc_tensor(w, "V", ONYX_DTYPE_FLOAT, 1, d2, ENG_TF_CONST | ENG_TF_DATA, 256, 8);
  eng_put_u32(w, k->second_node_writes_y || k->use_before_def ? 2 : 1);
  if (k->use_before_def) { /* node 0 reads Y, which node 1 makes */
    enc_node(w, "relu", "Relu", "", 13, 0, 1, (uint32_t[]){2}, 0xffffffffu);
    eng_put_u32(w, 0);
  }
  enc_node(w, "add", k->op_type, k->domain, k->opset, k->node_flags, 2, (uint32_t[]){0, k->node_in1}, 2);
  eng_put_u32(w, k->n_attrs);
  if (k->n_attrs == 1) {
    eng_put_string(w, "axes");
    eng_put_u8(w, (uint8_t)k->attr_type);
    if (k->attr_type == IR_ATTR_INTS) eng_put_u32(w, k->huge_ints ? 0x10000000u : 0);
  }
  if (k->second_node_writes_y) {
    enc_node(w, "relu", "Relu", "", 13, 0, 1, (uint32_t[]){0}, 2);
    eng_put_u32(w, 0);
  }
  eng_put_u32(w, 1);
  eng_put_u32(w, k->input0);
  eng_put_u32(w, k->n_outputs);
  for (uint32_t i = 0; i < k->n_outputs && i < 4; i++) eng_put_u32(w, k->output0);
  if (k->trailing) eng_put_u8(w, 0);
}

/* Reads the knobs' section; returns the status and leaves the message. */
static onyx_status read_knobs(const knobs *k)
{
  eng_writer w;
  eng_writer_init(&w);
  encode(k, &w);
  uint8_t weights[512] = {0};
  float two[2] = {1.f, 2.f};
  memcpy(weights, two, sizeof(two));
  ir_graph *g = NULL;
  onyx_status st = eng_graph_read(w.data, w.size, weights, k->overlap ? 512 : 8, &g);
  eng_writer_free(&w);
  if (st == ONYX_OK) {
    CHECKF(g && g->n_tensors == 3 && ((float *)g->tensors[1].data)[1] == 2.f &&
              g->nodes[0].op == ONYX_OP_ADD && g->tensors[2].producer == 0,
          "baseline section reads back");
    ir_graph_free(g);
  }
  return st;
}

static int n_hostile;
#define EXPECT(mutate, status, text)                                                                         \
  do {                                                                                                       \
    knobs k = base_knobs();                                                                                  \
    n_hostile++;                                                                                             \
    mutate;                                                                                                  \
    onyx_status st_ = read_knobs(&k);                                                                        \
    CHECKF(st_ == (status) && msg_has(text), "%s: status %d, message '%s' (want '%s')", #mutate, st_,         \
          onyx_last_error(), text);                                                                          \
  } while (0)

static void test_hostile(void)
{
  printf("hostile sections\n");
  int before = check_failures_;
  EXPECT((void)0, ONYX_OK, "");
  EXPECT(k.tag = 0x12345678, ONYX_ERR_PARSE, "not an engine graph section");
  EXPECT(k.version = 2, ONYX_ERR_UNSUPPORTED, "graph format version 2 is not supported");
  EXPECT(k.n_tensors = 0xffffffffu, ONYX_ERR_PARSE, "graph tensor count at offset");
  EXPECT(k.n_tensors = 1000000, ONYX_ERR_PARSE, "needs at least");
  EXPECT(k.w_dtype = 99, ONYX_ERR_PARSE, "tensor 1 ('W'): dtype 99 is not valid");
  EXPECT(k.w_dtype = ONYX_DTYPE_STRING, ONYX_ERR_PARSE, "dtype 8 is not valid");
  EXPECT(k.w_rank = 9, ONYX_ERR_PARSE, "tensor 1 ('W'): rank 9 is above the limit");
  EXPECT(k.w_dim0 = -5, ONYX_ERR_PARSE, "dimension 0 is -5");
  EXPECT(k.w_dim0 = -1, ONYX_ERR_PARSE, "has data but its dtype (float32) or shape is unknown");
  EXPECT(k.w_dim0 = INT64_MAX, ONYX_ERR_PARSE, "data size 8 does not match its float32");
  EXPECT(k.w_flags |= 0x40, ONYX_ERR_PARSE, "tensor 1 ('W'): unknown flags");
  EXPECT(k.w_flags = ENG_TF_DATA, ONYX_ERR_PARSE, "has data but is not constant");
  EXPECT(k.w_size = 12, ONYX_ERR_PARSE, "data size 12 does not match");
  EXPECT(k.w_offset = 256, ONYX_ERR_PARSE, "outside the 8-byte weights section");
  EXPECT(k.w_offset = 0xffffffffffffff00ull, ONYX_ERR_PARSE, "outside the 8-byte weights section");
  EXPECT(k.w_offset = 4, ONYX_ERR_PARSE, "data offset 4 is not 256-byte aligned");
  EXPECT((k.overlap = true, k.w_dim0 = 128, k.w_size = 512), ONYX_ERR_PARSE, "overlaps that of tensor 'W'");
  EXPECT(k.y_name = "X", ONYX_ERR_PARSE, "tensor 2: name 'X' is also tensor 0's");
  EXPECT(k.node_in1 = 7, ONYX_ERR_PARSE,
         "node 0 ('add') input 1: tensor index 7 is out of range (3 tensors)");
  EXPECT(k.op_type = "FooBar", ONYX_ERR_UNSUPPORTED,
         "FooBar node 'add': op 'FooBar' (domain 'ai.onnx') is not");
  EXPECT(k.domain = "com.example", ONYX_ERR_UNSUPPORTED, "op 'Add' (domain 'com.example') is not supported");
  EXPECT(k.opset = -1, ONYX_ERR_PARSE, "node 0 ('add'): opset -1 is out of range");
  EXPECT(k.node_flags = 4, ONYX_ERR_PARSE, "node 0 ('add'): unknown flags");
  EXPECT(k.node_flags = 1, ONYX_ERR_PARSE,
         "node 'add' is marked folded but its output 'Y' has no stored value");
  EXPECT(k.n_attrs = 100000, ONYX_ERR_PARSE, "node 0 ('add') attribute count");
  EXPECT((k.n_attrs = 1, k.attr_type = 42), ONYX_ERR_PARSE, "attribute 'axes': type 42 is not valid");
  EXPECT((k.n_attrs = 1, k.attr_type = IR_ATTR_INTS, k.huge_ints = true), ONYX_ERR_PARSE,
         "attribute 'axes' value count at offset");
  EXPECT(k.second_node_writes_y = true, ONYX_ERR_PARSE,
         "tensor 'Y' is an output of both node 'add' and node 'relu'");
  EXPECT(k.use_before_def = true, ONYX_ERR_PARSE, "node 0 ('relu') input 'Y' is produced by node 1 ('add')");
  EXPECT(k.node_in1 = 2, ONYX_ERR_PARSE, "input 'Y' is produced by node 0 ('add')"); /* its own output */
  EXPECT(k.input0 = 2, ONYX_ERR_PARSE, "graph input 'Y' is produced by node 'add'");
  EXPECT(k.input0 = 3, ONYX_ERR_PARSE, "graph input 0: tensor index 3 is out of range");
  EXPECT(k.output0 = 0xffffffffu, ONYX_ERR_PARSE, "tensor index 4294967295 is out of range");
  EXPECT(k.n_outputs = 0x7fffffff, ONYX_ERR_PARSE, "graph output count at offset");
  EXPECT(k.trailing = true, ONYX_ERR_PARSE, "1 unexpected bytes after the graph");
  /* the op's own parse() runs again, and its refusal passes through naming the node */
  EXPECT((k.op_type = "Constant"), ONYX_ERR_INVALID_MODEL, "Constant node 'add': has no value attribute");
  /* every message says where it came from */
  EXPECT(k.w_dtype = 99, ONYX_ERR_PARSE, "engine graph: ");
  CHECKF(eng_graph_read(NULL, 0, NULL, 0, NULL) == ONYX_ERR_INVALID_ARG, "NULL out refused");
  ir_graph *g = NULL;
  CHECKF(eng_graph_read(NULL, 0, NULL, 0, &g) == ONYX_ERR_PARSE && !g && msg_has("truncated: graph tag"),
        "empty section: '%s'", onyx_last_error());
  if (check_failures_ == before)
    printf("  %d hostile sections refused (and the baseline read), each naming its field\n", n_hostile - 1);
}

static void test_writer_refusals(void)
{
  ir_graph *g = build_sample();
  sections s;
  g->nodes[1].in[0] = g->n_tensors; /* an index past the end: the writer refuses, it does not read it */
  CHECKF(write_sections(g, &s) == ONYX_ERR_INTERNAL && msg_has("node 'add_w' refers to tensor"),
        "writer: '%s'", onyx_last_error());
  g->nodes[1].in[0] = 0;
  int W = ir_find_tensor(g, "W");
  g->tensors[W].dims[0] = -1; /* constant data without a known shape */
  CHECKF(write_sections(g, &s) == ONYX_ERR_INTERNAL && msg_has("'W' has constant data but no known shape"),
        "writer: '%s'", onyx_last_error());
  g->tensors[W].dims[0] = 4;
  CHECKF(eng_graph_write(NULL, NULL, NULL) == ONYX_ERR_INVALID_ARG, "NULL graph refused");
  ir_graph_free(g);
}

/* The whole path through an engine file: sections inside the container, aligned in the file. */
static void check_container(const char *label, const sections *s, const ir_graph *want)
{
  eng_fingerprint fp;
  memset(&fp, 0, sizeof(fp));
  snprintf(fp.gpu_name, sizeof(fp.gpu_name), "test");
  eng_file_writer fw;
  eng_file_writer_init(&fw, &fp);
  uint8_t *file = NULL;
  size_t size = 0;
  eng_file *f = NULL;
  onyx_status st = eng_file_writer_add(&fw, ENG_SECTION_LAYERS, s->graph, s->graph_size);
  if (st == ONYX_OK) st = eng_file_writer_add(&fw, ENG_SECTION_WEIGHTS, s->weights, s->weights_size);
  if (st == ONYX_OK) st = eng_file_writer_serialize(&fw, &file, &size);
  if (st == ONYX_OK) st = eng_file_parse(file, size, &f);
  CHECKF(st == ONYX_OK, "%s: container: %s", label, onyx_last_error());
  const uint8_t *gp, *wp;
  size_t gn, wn;
  ir_graph *g = NULL;
  if (st == ONYX_OK && eng_file_section(f, ENG_SECTION_LAYERS, &gp, &gn) == ONYX_OK &&
      eng_file_section(f, ENG_SECTION_WEIGHTS, &wp, &wn) == ONYX_OK) {
    CHECKF((wp - f->data) % ENG_GRAPH_ALIGN == 0, "%s: weights section at a 256-byte aligned file offset",
          label);
    CHECKF(eng_graph_read(gp, gn, wp, wn, &g) == ONYX_OK && graph_eq(want, g), "%s: read from the file: %s %s",
          label, onyx_last_error(), why);
  }
  ir_graph_free(g);
  eng_file_free(f);
  free(file);
  eng_file_writer_free(&fw);
}

/* ---- real models ------------------------------------------------------------- */

static double now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void test_model(const char *dir, const char *file)
{
  char path[1024];
  snprintf(path, sizeof(path), "%s/%s", dir, file);
  FILE *probe = fopen(path, "rb");
  if (!probe) {
    printf("  %s: absent, skipped\n", file);
    return;
  }
  fclose(probe);
  double t0 = now();
  onyx_model *m = NULL, *m2 = NULL;
  onyx_status st = onyx_model_load(path, &m);
  CHECKF(st == ONYX_OK, "%s: load: %s", file, onyx_last_error());
  if (st != ONYX_OK) return;

  /* as loaded */
  sections s;
  ir_graph *back = round_trip(file, m->g, &s);
  if (back) {
    check_container(file, &s, m->g);
    if (strstr(file, "mnist")) { /* small: every prefix and every byte */
      check_truncation(file, &s);
      check_corruption(file, &s);
    }
    CHECKF(model_from_graph(back, &m2) == ONYX_OK, "%s: model from the copy: %s", file, onyx_last_error());
  }
  sections_free(&s);
  run_inputs in;
  run_outputs o1, o2, o3;
  memset(&o1, 0, sizeof(o1));
  memset(&o2, 0, sizeof(o2));
  memset(&o3, 0, sizeof(o3));
  make_inputs(m, 1234, &in);
  CHECKF(run_session(m, &in, &o1) == ONYX_OK, "%s: run the original: %s", file, onyx_last_error());
  if (m2) {
    CHECKF(run_session(m2, &in, &o2) == ONYX_OK, "%s: run the copy: %s", file, onyx_last_error());
    check_same_outputs(file, &o1, &o2);
  }

  /* prepared for these input shapes: inferred shapes, folded nodes and their values */
  ir_graph *p = ir_graph_clone(m->g);
  for (int i = 0; i < in.n; i++) {
    ir_tensor *t = &p->tensors[p->inputs[i]];
    t->ndim = in.ndims[i];
    memcpy(t->dims, in.dims[i], sizeof(in.dims[i]));
  }
  cpu_ctx cpu;
  cpu_ctx_init(&cpu, 0);
  st = graph_prepare(p, &cpu);
  cpu_ctx_free(&cpu);
  CHECKF(st == ONYX_OK, "%s: prepare: %s", file, onyx_last_error());
  int folded = 0;
  for (int i = 0; i < p->n_nodes; i++) folded += p->nodes[i].folded;
  char label[300];
  snprintf(label, sizeof(label), "%s prepared (%d folded)", file, folded);
  ir_graph *pb = st == ONYX_OK ? round_trip(label, p, &s) : NULL;
  if (pb) {
    CHECKF(run_prepared(pb, &in, &o3) == ONYX_OK, "%s: run the prepared copy: %s", file, onyx_last_error());
    check_same_outputs(label, &o1, &o3);
    ir_graph_free(pb);
  }
  sections_free(&s);
  ir_graph_free(p);
  run_outputs_free(&o1);
  run_outputs_free(&o2);
  run_outputs_free(&o3);
  run_inputs_free(&in);
  onyx_model_free(m2);
  onyx_model_free(m);
  printf("  %s: done in %.1f s\n", file, now() - t0);
}

static void test_models(const char *dir)
{
  static const char *files[] = {"mnist_cntk_opset1.onnx", "ultraface_rfb_320.onnx",
                                "mobilenetv2_fp32_from_qdq.onnx", "yolo11n_320_fp32_from_int8.onnx",
                                "yolov8n_fp32_from_int8.onnx"};
  printf("real models in %s\n", dir);
  FILE *probe = NULL;
  char path[1024];
  snprintf(path, sizeof(path), "%s/%s", dir, "PROVENANCE.md");
  if (!(probe = fopen(path, "rb"))) {
    printf("  the models folder is absent: skipped\n");
    return;
  }
  fclose(probe);
  const char *only = getenv("ONYX_GRAPH_IO_MODELS"); /* a comma-separated subset, e.g. for the ASan build */
  for (size_t i = 0; i < ONYX_ARRAY_LEN(files); i++)
    if (!only || strstr(only, files[i])) test_model(dir, files[i]);
}

int main(int argc, char **argv)
{
  test_sample();
  {
    ir_graph *g = build_sample();
    sections s;
    if (write_sections(g, &s) == ONYX_OK) {
      printf("hand-built graph, damaged\n");
      check_truncation("sample", &s);
      check_corruption("sample", &s);
    }
    sections_free(&s);
    ir_graph_free(g);
  }
  test_hostile();
  test_writer_refusals();
  test_models(argc > 1 ? argv[1] : "../shared/models");
  return check_summary(argv[0]);
}
