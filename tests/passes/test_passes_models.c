/* Graph passes on real models: each model given on the command line is
 * prepared twice, one copy optimised at the highest level; both run on the
 * CPU backend with the same seeded random input (uniform [-1, 1)) and their
 * outputs must agree within atol + rtol |ref|.  Prints the fusions made and
 * the largest differences.  Also checks that optimising again changes
 * nothing (the passes reach a fixed point) and that no node of the optimised
 * graph is folded (dead-code elimination dropped them all), and that the
 * optimised graph written as engine sections and read back (fused ops named by
 * domain "onyx") gives the same outputs bit for bit. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "harness.h"
#include "ops/fused.h"

/* The ONNX models compared here are deep (up to ~300 layers): BatchNorm
 * folding and fused epilogues change float rounding, which accumulates, so
 * the bound is looser than the per-pass tests' 1e-5 / 1e-4. */
#define ATOL 1e-4
#define RTOL 1e-3

static double now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int runnable_nodes(const ir_graph *g)
{
  int c = 0;
  for (int i = 0; i < g->n_nodes; i++) c += !g->nodes[i].folded;
  return c;
}

static void one_model(const char *path)
{
  const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
  onyx_model *m = NULL;
  cpu_ctx cpu;
  cpu_ctx_init(&cpu, 0);
  pass_log log;
  pass_log_init(&log);
  ir_graph *ref = NULL, *opt = NULL, *rt = NULL;
  h_inputs in = {0};
  if (!CHECK_OK(onyx_model_load(path, &m))) goto out;
  ref = h_prepare(m, &cpu);
  opt = h_prepare(m, &cpu);
  CHECK(ref && opt);
  if (!ref || !opt) goto out;
  double t0 = now();
  if (!CHECK_OK(graph_optimize(opt, ONYX_OPT_POINTWISE, &log))) goto out;
  double t_opt = now() - t0;
  for (int i = 0; i < opt->n_nodes; i++) CHECK(!opt->nodes[i].folded);
  if (h_inputs_make(ref, 2024, &in) != 0) {
    CHECK(!"inputs");
    goto out;
  }
  t0 = now();
  int ok = h_run(ref, &cpu, &in) == 0;
  double t_ref = now() - t0;
  rt = h_engine_roundtrip(opt); /* the fused ops, named by domain "onyx", survive an engine file */
  CHECK(rt != NULL);
  t0 = now();
  ok = ok && h_run(opt, &cpu, &in) == 0;
  double t_run = now() - t0;
  CHECK(ok);
  if (!ok) goto out;
  double max_abs, max_rel;
  int64_t bad = h_compare(ref, opt, ATOL, RTOL, &max_abs, &max_rel);
  CHECK_EQ_I64(bad, 0);
  if (rt) {
    double rt_abs, rt_rel;
    CHECK_EQ_I64(rt->n_nodes, opt->n_nodes);
    CHECK(h_run(rt, &cpu, &in) == 0);
    CHECK_EQ_I64(h_compare(opt, rt, 0, 0, &rt_abs, &rt_rel), 0); /* bit for bit */
  }

  int acts[FUSED_ACT_COUNT] = {0}, n_z = 0;
  for (int i = 0; i < opt->n_nodes; i++) {
    const ir_node *n = &opt->nodes[i];
    if (n->op != ONYX_OP_FUSED_CONV) continue;
    const fused_conv_params *p = n->params;
    acts[p->act]++;
    n_z += n->n_in > 3 && n->in[3] >= 0;
  }
  printf("%s: %d nodes to run -> %d (optimised in %.1f ms)\n", base, runnable_nodes(ref), opt->n_nodes,
         1e3 * t_opt);
  printf("  identity_elim %d, bn_fold %d, conv_bias %d, conv_add %d, conv_act %d, pointwise %d, dce %d\n",
         pass_log_count(&log, "identity_elim"), pass_log_count(&log, "bn_fold"),
         pass_log_count(&log, "conv_bias"), pass_log_count(&log, "conv_add"),
         pass_log_count(&log, "conv_act"), pass_log_count(&log, "pointwise"), pass_log_count(&log, "dce"));
  printf("  FusedConv %d (with Z %d):", h_count_op(opt, ONYX_OP_FUSED_CONV), n_z);
  for (int a = 0; a < FUSED_ACT_COUNT; a++)
    if (acts[a]) printf(" %s %d", a ? fused_act_name((fused_act)a) : "none", acts[a]);
  printf("; Conv left %d; FusedPointwise %d\n", h_count_op(opt, ONYX_OP_CONV),
         h_count_op(opt, ONYX_OP_FUSED_POINTWISE));
  printf("  max abs diff %.3g, max rel diff %.3g (|ref| > 1e-3), %lld outside atol %g + rtol %g; run %.0f ms "
         "-> %.0f ms\n",
         max_abs, max_rel, (long long)bad, ATOL, RTOL, 1e3 * t_ref, 1e3 * t_run);
  for (int i = 0; i < log.n; i++)
    if (strcmp(log.entries[i].pass, "pointwise") == 0)
      printf("    pointwise: %s (%s)\n", log.entries[i].node, log.entries[i].ops);

  /* a second optimisation finds nothing more to do */
  pass_log again;
  pass_log_init(&again);
  int before = opt->n_nodes;
  CHECK_OK(graph_optimize(opt, ONYX_OPT_POINTWISE, &again));
  CHECK_EQ_I64(again.n, 0);
  CHECK_EQ_I64(opt->n_nodes, before);
  pass_log_free(&again);
out:
  h_inputs_free(&in);
  ir_graph_free(ref);
  ir_graph_free(opt);
  ir_graph_free(rt);
  onyx_model_free(m);
  pass_log_free(&log);
  cpu_ctx_free(&cpu);
}

int main(int argc, char **argv)
{
  if (argc < 2) {
    printf("no models given (none found at configure time): nothing to test\n");
    return 0;
  }
  for (int i = 1; i < argc; i++) one_model(argv[i]);
  return check_summary(argv[0]);
}
