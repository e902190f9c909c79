/* The channels-last layout pass (engine/layout.c) on prepared, optimised FP16
 * graphs (FLOAT16 feature maps) and TF32 graphs (FLOAT ones), with the CUDA
 * backend's capability table (cuda_op_layouts[]); pure IR, no GPU.
 *   onyx_layout_tests [MODELS_DIR]
 * - small conv graphs (layout_graphs.c): the number of reformats and KRSC
 *   filters, which tensors are channels-last;
 * - the real models in MODELS_DIR (mobilenetv2, mnist, ultraface, yolov8n,
 *   yolo11n; skipped when absent): how much runs channels-last and how many
 *   reformats it costs;
 * - on every graph, the invariants the CUDA layers rely on: a ROW_MAJOR op sees
 *   only row-major tensors, a UNIFORM/FILTER op's feature maps share one
 *   layout (and a FILTER op's filter is KRSC exactly when it runs
 *   channels-last), a STRIDED_IN op writes row-major, graph inputs and outputs
 *   stay row-major, only feature maps and filters are channels-last, every
 *   KRSC filter holds the KCRS values transposed, nodes stay sorted;
 * - the CUDA memory plan of every graph, row-major and channels-last
 *   (cuda_plan_measure: plan.c refuses a plan in which two tensors sharing
 *   bytes are live at once, e.g. from a view or Concat placed in its output).
 * Exits 77 (skipped) when built without the CUDA backend (no table to test). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/cpu.h"
#include "common/status.h"
#include "common/util.h"
#include "engine/layout.h"
#include "engine/pool_gemm.h"
#include "engine/precision.h"
#include "graph/passes/passes.h"
#include "graph/prepare.h"
#include "layout_graphs.h"
#include "runtime/model.h"

#ifdef ONYX_HAVE_CUDA
#include "backend/cuda/layouts.h"
#include "backend/cuda/plan.h"

#include "check.h"

static int verbose; /* -v: the pairs of every plan */

/* The feature maps' type of the engines under test: FLOAT16 (FP16 engines), then FLOAT (TF32). */
static onyx_dtype storage = ONYX_DTYPE_FLOAT16;
static bool all_cl; /* layout_options.all: every node that can run channels-last does (ONYX_NHWC=all) */
static const char *storage_name(void)
{
  return storage == ONYX_DTYPE_FLOAT16 ? "fp16" : all_cl ? "tf32 (all channels-last)" : "tf32";
}

/* The model's graph as an FP16 or TF32 engine sees it: prepared (symbolic dims 1), optimised,
 * converted to FP16 (FP16 engines); then the layout pass when nhwc. */
static ir_graph *specialise(const onyx_model *m, bool nhwc, layout_report *rep)
{
  ir_graph *g = ir_graph_clone(m->g);
  if (!g) return NULL;
  for (int i = 0; i < g->n_inputs; i++) {
    ir_tensor *t = &g->tensors[g->inputs[i]];
    for (int d = 0; d < t->ndim; d++)
      if (t->dims[d] < 0) t->dims[d] = 1;
  }
  cpu_ctx cpu;
  cpu_ctx_init(&cpu, 1);
  onyx_status st = graph_prepare(g, &cpu);
  cpu_ctx_free(&cpu);
  precision_report pr;
  if (st == ONYX_OK) st = graph_optimize(g, 3, NULL);
  if (st == ONYX_OK && storage == ONYX_DTYPE_FLOAT16) st = precision_convert_fp16(g, &pr);
  layout_options lo = {.dtype = storage, .all = all_cl};
  if (st == ONYX_OK && nhwc) st = layout_assign_nhwc(g, cuda_op_layouts, &lo, rep);
  if (st != ONYX_OK) {
    fprintf(stderr, "specialising failed: %s\n", onyx_last_error());
    ir_graph_free(g);
    return NULL;
  }
  return g;
}

static bool is_io(const ir_graph *g, int t)
{
  for (int i = 0; i < g->n_inputs; i++)
    if (g->inputs[i] == t) return true;
  for (int i = 0; i < g->n_outputs; i++)
    if (g->outputs[i] == t) return true;
  return false;
}

static bool cl(const ir_graph *g, int t) { return t >= 0 && g->tensors[t].layout == IR_LAYOUT_CHANNELS_LAST; }

static bool feature(const ir_graph *g, int t)
{
  return t >= 0 && !g->tensors[t].is_const && layout_is_feature_map(&g->tensors[t], storage);
}

/* A node's KCRS filter in the graph without the pass: same name, less a ":krsc" suffix. */
static const ir_tensor *reference_filter(const ir_graph *ref, const char *name)
{
  char base[512];
  snprintf(base, sizeof(base), "%s", name);
  char *suffix = strstr(base, ":krsc");
  if (suffix) *suffix = '\0';
  int t = ir_find_tensor(ref, base);
  return t >= 0 ? &ref->tensors[t] : NULL;
}

typedef struct stats {
  int reformats, cl_tensors, features, cl_nodes, mode_nodes, filters;
} stats;

/* Checks every invariant of the header comment; counts what runs channels-last. */
static stats check_graph(const char *name, const ir_graph *g, const ir_graph *ref)
{
  stats s = {0};
  for (int i = 0; i < g->n_inputs; i++) CHECKF(!cl(g, g->inputs[i]), "%s: input %d is channels-last", name, i);
  for (int i = 0; i < g->n_outputs; i++)
    CHECKF(!cl(g, g->outputs[i]), "%s: output %d is channels-last", name, i);
  for (int t = 0; t < g->n_tensors; t++) {
    const ir_tensor *x = &g->tensors[t];
    if (feature(g, t) && x->producer >= 0) s.features++; /* tensors of fused-away nodes have none */
    if (x->layout != IR_LAYOUT_CHANNELS_LAST) continue;
    s.cl_tensors++;
    CHECKF(x->ndim == 4 && x->dtype == storage, "%s: '%s' is channels-last but not 4-D %s", name, x->name,
          onyx_dtype_name(storage));
    CHECKF(!is_io(g, t), "%s: '%s' is channels-last and a graph input/output", name, x->name);
    if (x->is_const) { /* a KRSC filter: only channels-last FILTER nodes read it, as input 1 */
      for (int i = 0; i < g->n_nodes; i++) {
        const ir_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_in; k++)
          if (n->in[k] == t && !n->folded)
            CHECKF(k == 1 && cuda_op_layouts[n->op] == LAYOUT_CAP_FILTER,
                  "%s: KRSC filter '%s' read by %s '%s'", name, x->name, n->op_type, n->name);
      }
      const ir_tensor *r = reference_filter(ref, x->name);
      CHECKF(r && r->ndim == 4 && r->dtype == storage && r->data && x->data,
            "%s: filter '%s' has no reference", name, x->name);
      if (!r || !r->data || !x->data || r->ndim != 4) continue;
      const int64_t M = r->dims[0], C = r->dims[1], R = r->dims[2], S = r->dims[3];
      CHECKF(memcmp(r->dims, x->dims, sizeof(r->dims[0]) * 4) == 0, "%s: filter '%s' dims changed", name,
            x->name);
      const size_t es = onyx_dtype_size(storage);
      const char *kcrs = r->data, *krsc = x->data;
      int64_t bad = 0;
      for (int64_t m = 0; m < M; m++)
        for (int64_t c = 0; c < C; c++)
          for (int64_t y = 0; y < R; y++)
            for (int64_t z = 0; z < S; z++)
              bad += memcmp(kcrs + (size_t)(((m * C + c) * R + y) * S + z) * es,
                            krsc + (size_t)(((m * R + y) * S + z) * C + c) * es, es) != 0;
      CHECKF(bad == 0, "%s: filter '%s': %lld values misplaced", name, x->name, (long long)bad);
    } else {
      CHECKF(layout_is_feature_map(x, storage), "%s: '%s' is channels-last but C or H*W is 1", name, x->name);
    }
  }
  for (int i = 0; i < g->n_nodes; i++) {
    const ir_node *n = &g->nodes[i];
    if (n->folded) continue;
    for (int k = 0; k < n->n_in; k++) { /* sorted: every input is made before */
      int t = n->in[k];
      if (t >= 0 && g->tensors[t].producer >= 0)
        CHECKF(g->tensors[t].producer < i, "%s: node '%s' unsorted", name, n->name);
    }
    int cap = cuda_op_layouts[n->op];
    if (n->op == ONYX_OP_IDENTITY && n->n_in == 1 && n->n_out == 1 && cl(g, n->in[0]) != cl(g, n->out[0]))
      s.reformats++;
    switch (cap) {
    case LAYOUT_CAP_ROW_MAJOR:
      for (int k = 0; k < n->n_in; k++)
        CHECKF(!cl(g, n->in[k]), "%s: row-major %s '%s' reads channels-last input %d", name, n->op_type,
              n->name, k);
      for (int k = 0; k < n->n_out; k++)
        CHECKF(!cl(g, n->out[k]), "%s: row-major %s '%s' writes channels-last output %d", name, n->op_type,
              n->name, k);
      break;
    case LAYOUT_CAP_STRIDED_IN:
      for (int k = 0; k < n->n_out; k++)
        CHECKF(!cl(g, n->out[k]), "%s: %s '%s' writes channels-last output %d", name, n->op_type, n->name, k);
      break;
    case LAYOUT_CAP_UNIFORM:
    case LAYOUT_CAP_FILTER: {
      int lay = -1;
      bool any = false;
      for (int side = 0; side < 2; side++) {
        int cnt = side ? n->n_out : n->n_in;
        const int *ts = side ? n->out : n->in;
        for (int k = 0; k < cnt; k++) {
          if (!side && cap == LAYOUT_CAP_FILTER && k == 1) continue;
          if (!feature(g, ts[k])) {
            CHECKF(!cl(g, ts[k]), "%s: %s '%s': non-feature tensor %d is channels-last", name, n->op_type,
                  n->name, k);
            continue;
          }
          any = true;
          if (lay < 0) lay = cl(g, ts[k]);
          CHECKF(lay == (int)cl(g, ts[k]), "%s: %s '%s' mixes layouts", name, n->op_type, n->name);
        }
      }
      if (any) s.mode_nodes++;
      if (lay == 1) s.cl_nodes++;
      if (cap == LAYOUT_CAP_FILTER && n->n_in > 1) {
        CHECKF(cl(g, n->in[1]) == (lay == 1), "%s: %s '%s': filter layout %d, maps %d", name, n->op_type,
              n->name, (int)cl(g, n->in[1]), lay);
        if (lay == 1) s.filters++;
      }
      break;
    }
    default:
      break;
    }
  }
  return s;
}

static onyx_model *build(const layout_graph *lg)
{
  mb *b = lg->build();
  onyx_model *m = NULL;
  onyx_status st = mb_load(b, &m);
  mb_free(b);
  if (st != ONYX_OK) fprintf(stderr, "%s: loading failed: %s\n", lg->name, onyx_last_error());
  return st == ONYX_OK ? m : NULL;
}

/* The host-only CUDA plan of a copy of g (NULL on failure, reported). */
static cuda_plan *host_plan(const char *name, const ir_graph *g)
{
  ir_graph *copy = ir_graph_clone(g);
  cuda_plan *p = NULL;
  onyx_status st = copy ? cuda_plan_create_host(copy, &p) : ONYX_ERR_NO_MEMORY;
  CHECKF(st == ONYX_OK, "%s: host plan: %s", name, onyx_last_error());
  return st == ONYX_OK ? p : NULL;
}

/* The pairs of p as "a || b; c || d" (names of the steps). */
static void describe_pairs(const cuda_plan *p, char *buf, size_t cap)
{
  size_t off = 0;
  buf[0] = '\0';
  for (int s = 1; s < p->n_steps && off < cap; s++)
    if (p->side[s])
      off += (size_t)snprintf(buf + off, cap - off, "%s%s || %s", off ? "; " : "",
                              p->g->nodes[p->steps[s - 1]].name, p->g->nodes[p->steps[s]].name);
}

/* The CUDA memory plans of both graphs (plan.c checks that no two tensors sharing bytes are live at
 * once, and that the two steps of a pair write no bytes the other touches; views and Concats placed in
 * their outputs and pairs are where a plan can go wrong), with and without pairs; in FP16 engines the pairs
 * are the same in both layouts (no reformat between the graphs here; TF32 reformats).  Returns the number of
 * pairs (-1: no plan). */
static int check_plans(const char *name, const ir_graph *ref, const ir_graph *g)
{
  const ir_graph *graphs[2] = {ref, g};
  int pairs[2] = {-1, -1};
  for (int i = 0; i < 2; i++) {
    const char *lay = i ? "channels-last" : "row-major";
    size_t arena = 0, weights = 0;
    onyx_status st = cuda_plan_measure(graphs[i], &arena, &weights);
    CHECKF(st == ONYX_OK && arena > 0, "%s: %s memory plan: %s", name, lay,
          st == ONYX_OK ? "empty arena" : onyx_last_error());
    cuda_plan *p = host_plan(name, graphs[i]);
    if (!p) continue;
    pairs[i] = p->n_side;
    CHECKF(p->arena_size == arena, "%s: %s: host plan and measure differ", name, lay);
    if (verbose && p->n_side) {
      char buf[4096];
      describe_pairs(p, buf, sizeof(buf));
      printf("    %s pairs: %s\n", lay, buf);
    }
    cuda_plan_release(p);
    setenv("ONYX_CONCURRENT", "0", 1);
    p = host_plan(name, graphs[i]);
    unsetenv("ONYX_CONCURRENT");
    if (!p) continue;
    if (verbose && pairs[i] > 0)
      printf("    %s arena: %zu bytes, %zu without pairs\n", lay, arena, p->arena_size);
    CHECKF(p->n_side == 0, "%s: %s: ONYX_CONCURRENT=0 still makes %d pairs", name, lay, p->n_side);
    for (int s = 0; s < p->n_steps; s++)
      CHECKF(!p->side[s], "%s: %s: step %d on the side stream", name, lay, s);
    cuda_plan_release(p);
  }
  if (storage == ONYX_DTYPE_FLOAT16 && !all_cl) /* (TF32: reformats in the channels-last graph) */
    CHECKF(pairs[0] == pairs[1], "%s: %d pairs row-major, %d channels-last", name, pairs[0], pairs[1]);
  return pairs[1];
}

/* What the pass chooses for the small graphs of an FP16 engine (layout_graphs.c's counts and the
 * specifics below).  A TF32 engine has no input Cast to write channels-last: reformatting its input
 * costs a launch, which on these small maps outweighs what channels-last convs would save, so its
 * choices differ; there only the invariants and plans are checked (and the real models, which go
 * channels-last, in test_models). */
static void check_fp16_choices(const layout_graph *lg, const ir_graph *g, const stats *s, const layout_report *rep)
{
  if (lg->expect_reformats >= 0)
    CHECKF(s->reformats == lg->expect_reformats, "%s: %d reformats, expected %d", lg->name, s->reformats,
          lg->expect_reformats);
  if (lg->expect_filters >= 0)
    CHECKF(rep->filters == lg->expect_filters, "%s: %d KRSC filters, expected %d", lg->name, rep->filters,
          lg->expect_filters);
  /* specifics */
  if (!strcmp(lg->name, "resnet_block") || !strcmp(lg->name, "yolo_like") ||
      !strcmp(lg->name, "depthwise_asym"))
    CHECKF(s->cl_nodes == s->mode_nodes && s->cl_tensors - rep->filters > 0,
          "%s: not channels-last throughout", lg->name);
  if (!strcmp(lg->name, "softmax_small")) CHECKF(s->cl_tensors == 0, "%s: channels-last tensors", lg->name);
  if (!strcmp(lg->name, "softmax_large")) {
    int a = ir_find_tensor(g, "c1:nchw"), b = -1;
    for (int t = 0; t < g->n_tensors; t++)
      if (strstr(g->tensors[t].name, ":nhwc")) b = t;
    CHECKF(a >= 0 && !cl(g, a) && b >= 0 && cl(g, b), "%s: reformats to row-major and back expected",
          lg->name);
  }
  if (!strcmp(lg->name, "shared_weight")) {
    int w = ir_find_tensor(g, "c1_w"), k = ir_find_tensor(g, "c1_w:krsc");
    CHECKF(w >= 0 && k >= 0 && !cl(g, w) && cl(g, k),
          "%s: the filter keeps KCRS for Where, a KRSC twin for Conv", lg->name);
  }
  /* the classifier-head fusion after the layout pass, as FP16 engines run it (engine/pool_gemm.h) */
  ir_graph *h = ir_graph_clone(g);
  pool_gemm_options po = {ONYX_DTYPE_FLOAT16, 8, 4096, true};
  int n_fused = -1;
  onyx_status st = h ? pool_gemm_fuse(h, &po, &n_fused) : ONYX_ERR_NO_MEMORY;
  CHECKF(st == ONYX_OK && n_fused == lg->expect_pool_gemm, "%s: %d fused heads, expected %d (%s)", lg->name,
        n_fused, lg->expect_pool_gemm, st == ONYX_OK ? "ok" : onyx_last_error());
  ir_graph_free(h);
  if (!strcmp(lg->name, "conv_output")) {
    int y = ir_find_tensor(g, "y:fp16");
    CHECKF(y >= 0 && cl(g, y), "%s: the conv writes channels-last, the final Cast reformats", lg->name);
  }
}

static void test_small_graphs(void)
{
  for (int i = 0; i < n_layout_graphs; i++) {
    const layout_graph *lg = &layout_graphs[i];
    onyx_model *m = build(lg);
    CHECKF(m != NULL, "%s: model", lg->name);
    if (!m) continue;
    layout_report rep;
    ir_graph *ref = specialise(m, false, NULL), *g = specialise(m, true, &rep);
    CHECKF(ref && g, "%s: specialise", lg->name);
    if (ref && g) {
      int pairs = check_plans(lg->name, ref, g);
      stats s = check_graph(lg->name, g, ref);
      printf("  %-15s %2d/%2d nodes channels-last, %2d/%2d maps, %d reformats, %d KRSC filters, %d pairs  "
             "(%s)\n",
             lg->name, s.cl_nodes, s.mode_nodes, s.cl_tensors - rep.filters, s.features, s.reformats,
             rep.filters, pairs, lg->what);
      CHECKF(rep.reformats == s.reformats, "%s: report says %d reformats, graph has %d", lg->name,
            rep.reformats, s.reformats);
      if (lg->expect_pairs >= 0 && storage == ONYX_DTYPE_FLOAT16) /* (TF32: other layouts, other reformats) */
        CHECKF(pairs == lg->expect_pairs, "%s: %d pairs, expected %d", lg->name, pairs, lg->expect_pairs);
      CHECKF(rep.filters == s.filters || lg->expect_filters < 0, "%s: report says %d filters, graph has %d",
            lg->name, rep.filters, s.filters);
      if (storage == ONYX_DTYPE_FLOAT16 && !all_cl) check_fp16_choices(lg, g, &s, &rep);
      if (all_cl)
        CHECKF(s.cl_nodes == s.mode_nodes, "%s: %d of %d nodes channels-last with layout_options.all", lg->name,
              s.cl_nodes, s.mode_nodes);
    }
    ir_graph_free(ref);
    ir_graph_free(g);
    onyx_model_free(m);
  }
}

/* The names of the two steps of p's only pair (NULL when p has not exactly one pair). */
static bool only_pair(const cuda_plan *p, const char **main, const char **side)
{
  *main = *side = NULL;
  for (int s = 1; s < p->n_steps; s++)
    if (p->side[s]) {
      *main = p->g->nodes[p->steps[s - 1]].name;
      *side = p->g->nodes[p->steps[s]].name;
    }
  return p->n_side == 1 && *main;
}

static bool is_conv(const cuda_plan *p, const char *name)
{
  for (int s = 0; s < p->n_steps; s++) {
    const ir_node *n = &p->g->nodes[p->steps[s]];
    if (n->name == name) return n->op == ONYX_OP_CONV || n->op == ONYX_OP_FUSED_CONV;
  }
  return false;
}

static int step_of(const cuda_plan *p, const char *prefix)
{
  for (int s = 0; s < p->n_steps; s++)
    if (!strncmp(p->g->nodes[p->steps[s]].name, prefix, strlen(prefix))) return s;
  return -1;
}

static bool overlap(const cuda_plan *p, int a, int b)
{
  size_t na = ir_tensor_bytes(&p->g->tensors[a]), nb = ir_tensor_bytes(&p->g->tensors[b]);
  return p->offset[a] < p->offset[b] + nb && p->offset[b] < p->offset[a] + na;
}

/* cuda_plan_check refuses p, and its message contains what and what2 (when not NULL). */
static void check_refused(cuda_plan *p, const char *case_name, const char *what, const char *what2)
{
  onyx_status st = cuda_plan_check(p);
  CHECKF(st != ONYX_OK && strstr(onyx_last_error(), what) && (!what2 || strstr(onyx_last_error(), what2)),
        "%s: accepted (or refused for another reason: %s)", case_name,
        st == ONYX_OK ? "-" : onyx_last_error());
  if (verbose && st != ONYX_OK) printf("    %s: refused: %s\n", case_name, onyx_last_error());
}

/* Pairs, on both layouts of the graphs made for them: ResNet's downsample block pairs its two convs
 * reading the block input (exactly one pair); "branches" pairs its two convs after a Split, and its
 * plans show the liveness a pair needs: the serial plan (ONYX_CONCURRENT=0) places the 1x1's output c
 * on the bytes of s1, which only the 3x3 beside it reads, so those offsets with the pair are refused,
 * as are a pair whose side step reads its main step's output and two side steps in a row. */
static void test_pairs(void)
{
  const layout_graph *ds = NULL, *br = NULL;
  for (int i = 0; i < n_layout_graphs; i++) {
    if (!strcmp(layout_graphs[i].name, "downsample")) ds = &layout_graphs[i];
    if (!strcmp(layout_graphs[i].name, "branches")) br = &layout_graphs[i];
  }
  CHECKF(ds && br, "the downsample and branches graphs");
  if (!ds || !br) return;
  onyx_model *md = build(ds), *mbr = build(br);
  for (int nhwc = 0; nhwc < 2 && md && mbr; nhwc++) {
    const char *lay = nhwc ? "channels-last" : "row-major";
    layout_report rep;
    ir_graph *gd = specialise(md, nhwc, &rep), *gb = specialise(mbr, nhwc, &rep);
    cuda_plan *p = gd ? host_plan("downsample", gd) : NULL;
    const char *a_name = NULL, *b_name = NULL;
    if (p) {
      bool one = only_pair(p, &a_name, &b_name);
      CHECKF(one && is_conv(p, a_name) && is_conv(p, b_name) &&
                 ((!strncmp(a_name, "c1", 2) && !strcmp(b_name, "ds")) ||
                  (!strcmp(a_name, "ds") && !strncmp(b_name, "c1", 2))),
            "downsample (%s): the pair is not the block's first conv and its downsample conv (%d pairs: "
            "%s || %s)",
            lay, p->n_side, one ? a_name : "?", one ? b_name : "?");
    }
    cuda_plan_release(p);
    cuda_plan *pb = gb ? host_plan("branches", gb) : NULL, *serial = NULL;
    setenv("ONYX_CONCURRENT", "0", 1);
    if (gb) serial = host_plan("branches serial", gb);
    unsetenv("ONYX_CONCURRENT");
    int s1 = gb ? ir_find_tensor(gb, "s1") : -1, c = gb ? ir_find_tensor(gb, "c") : -1;
    CHECKF(s1 >= 0 && c >= 0, "branches: tensors s1 and c");
    int k1 = pb ? step_of(pb, "c1") : -1, k2 = pb ? step_of(pb, "c2") : -1;
    if (pb && serial && s1 >= 0 && c >= 0) {
      CHECKF(k1 >= 1 && k2 == k1 + 1 && pb->side[k2] && !pb->side[k1],
            "branches (%s): c1 || c2 is not a pair", lay);
      CHECKF(!overlap(pb, s1, c), "branches (%s): c shares s1's bytes though both are live during the pair",
            lay);
      CHECKF(overlap(serial, s1, c),
            "branches (%s): the serial plan no longer puts c on s1's bytes (the case below then tests "
            "nothing: change the graph)", lay);
      CHECKF(cuda_plan_check(serial) == ONYX_OK, "branches (%s): serial plan: %s", lay, onyx_last_error());
      size_t *good = onyx_malloc((size_t)gb->n_tensors * sizeof(size_t));
      CHECKF(good != NULL, "memory");
      if (good && k1 >= 1 && k2 == k1 + 1) {
        /* the serial offsets with the pair */
        memcpy(good, pb->offset, (size_t)gb->n_tensors * sizeof(size_t));
        memcpy(pb->offset, serial->offset, (size_t)gb->n_tensors * sizeof(size_t));
        check_refused(pb, "branches: serial offsets with the pair", "'s1'", "'c'");
        memcpy(pb->offset, good, (size_t)gb->n_tensors * sizeof(size_t));
        CHECKF(cuda_plan_check(pb) == ONYX_OK, "branches: restored plan: %s", onyx_last_error());
        /* the step after the pair on the side stream too */
        if (k2 + 1 < pb->n_steps) {
          pb->side[k2 + 1] = 1;
          check_refused(pb, "branches: two side steps in a row", "both side steps", NULL);
          pb->side[k2 + 1] = 0;
        }
        /* c1 beside the Split, whose output s1 it reads */
        serial->side[k1] = 1;
        serial->n_side = 1;
        check_refused(serial, "branches: split || c1", "reads 's1', which step", NULL);
      }
      free(good);
    }
    cuda_plan_release(pb);
    cuda_plan_release(serial);
    ir_graph_free(gd);
    ir_graph_free(gb);
  }
  onyx_model_free(md);
  onyx_model_free(mbr);
}

/* A graph with no feature maps is left alone. */
static void test_no_features(void)
{
  mb *b = mb_new(13);
  mb_input(b, "x", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, "4,8");
  mb_output(b, "y", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, "4,8");
  mb_node(b, "Relu", "relu", "x", "r");
  mb_node(b, "Sigmoid", "sig", "r", "y");
  onyx_model *m = NULL;
  onyx_status st = mb_load(b, &m);
  mb_free(b);
  CHECKF(st == ONYX_OK, "load: %s", onyx_last_error());
  if (st != ONYX_OK) return;
  layout_report rep;
  ir_graph *g = specialise(m, true, &rep);
  CHECKF(g && rep.channels_last == 0 && rep.reformats == 0 && rep.filters == 0, "a 2-D graph changed");
  ir_graph_free(g);
  onyx_model_free(m);
}

typedef struct model_expect {
  const char *file;
  int max_reformats;
  bool all_convs_cl;
} model_expect;

static void test_models(const char *dir)
{
  /* mobilenetv2, mnist, ultraface and yolov8n run every conv channels-last with no reformat (the
   * input Cast writes NHWC, heads read it through Reshape/Transpose/Concat; yolov8n's DFL conv
   * after its Softmax stays row-major, its output [1, 1, 4, A] is alike in both layouts);
   * yolo11n's attention block (C2PSA) feeds its "pe" conv from Reshapes: that conv stays
   * row-major and one reformat leads back to the channels-last "proj" conv */
  static const model_expect models[] = {
      {"mobilenetv2_fp32_from_qdq.onnx", 0, true},   {"mnist_cntk_opset1.onnx", 0, true},
      {"ultraface_rfb_320.onnx", 0, true},           {"yolov8n_fp32_from_int8.onnx", 0, true},
      {"yolo11n_320_fp32_from_int8.onnx", 1, false},
  };
  for (size_t i = 0; i < sizeof(models) / sizeof(models[0]); i++) {
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, models[i].file);
    FILE *f = fopen(path, "rb");
    if (!f) {
      printf("  %-32s absent, skipped\n", models[i].file);
      continue;
    }
    fclose(f);
    onyx_model *m = NULL;
    CHECKF(onyx_model_load(path, &m) == ONYX_OK, "%s: %s", path, onyx_last_error());
    if (!m) continue;
    layout_report rep;
    ir_graph *ref = specialise(m, false, NULL), *g = specialise(m, true, &rep);
    CHECKF(ref && g, "%s: specialise", models[i].file);
    if (ref && g) {
      int pairs = check_plans(models[i].file, ref, g);
      stats s = check_graph(models[i].file, g, ref);
      int convs = 0, convs_cl = 0;
      for (int n = 0; n < g->n_nodes; n++)
        if (!g->nodes[n].folded && cuda_op_layouts[g->nodes[n].op] == LAYOUT_CAP_FILTER &&
            feature(g, g->nodes[n].out[0]))
          convs++, convs_cl += cl(g, g->nodes[n].in[1]);
      printf(
          "  %-32s %3d/%3d nodes channels-last (convs %d/%d), %3d/%3d maps, %d reformats, %d KRSC filters, "
          "%d pairs\n",
          models[i].file, s.cl_nodes, s.mode_nodes, convs_cl, convs, s.cl_tensors - rep.filters, s.features,
          s.reformats, rep.filters, pairs);
      int max_reformats = models[i].max_reformats; /* FP16; TF32 adds the input's and outputs' (above) */
      if (storage == ONYX_DTYPE_FLOAT) max_reformats += g->n_inputs + g->n_outputs;
      CHECKF(s.reformats <= max_reformats, "%s: %d reformats (at most %d expected)", models[i].file, s.reformats,
            max_reformats);
      if (models[i].all_convs_cl)
        CHECKF(convs_cl == convs && convs > 0, "%s: %d of %d convs channels-last", models[i].file, convs_cl,
              convs);
      CHECKF(s.cl_tensors > 0 || !strcmp(models[i].file, "mnist_cntk_opset1.onnx"),
            "%s: nothing channels-last", models[i].file);
      CHECKF(rep.reformats == s.reformats, "%s: report %d vs graph %d reformats", models[i].file,
            rep.reformats, s.reformats);
    }
    ir_graph_free(ref);
    ir_graph_free(g);
    onyx_model_free(m);
  }
}

int main(int argc, char **argv)
{
  const char *models = NULL;
  for (int a = 1; a < argc; a++) {
    if (!strcmp(argv[a], "-v")) verbose = 1;
    else models = argv[a];
  }
  const onyx_dtype types[3] = {ONYX_DTYPE_FLOAT16, ONYX_DTYPE_FLOAT, ONYX_DTYPE_FLOAT};
  for (int i = 0; i < 3; i++) {
    storage = types[i];
    all_cl = i == 2;
    printf("%s engines, small graphs:\n", storage_name());
    test_small_graphs();
    test_no_features();
    if (i == 0) test_pairs();
    if (models) {
      printf("%s engines, models in %s:\n", storage_name(), models);
      test_models(models);
    }
  }
  return check_summary(argv[0]);
}

#else
int main(void)
{
  printf("built without the CUDA backend: no capability table to test (skipped)\n");
  return 77;
}
#endif
