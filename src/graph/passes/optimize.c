/* The pass driver: which passes run at which level, in which order.
 *
 * Identity removal comes first so the fusions see producer and consumer
 * directly; BN and bias folding before the Conv fusions (a folded Conv can
 * still fuse); Conv + Add before Conv + activation (so act(conv + Z) fuses whole);
 * pointwise chains after the Conv fusions have taken the activations they
 * can; dead-code elimination last. */
#include "graph/passes/pass_util.h"

typedef struct pass_step {
  const char *name;
  int level; /* runs at this level and above */
  onyx_status (*run)(ir_graph *g, pass_log *log);
} pass_step;

static const pass_step steps[] = {
    {"identity_elim", ONYX_OPT_BASIC, pass_identity_elim},
    {"bn_fold", ONYX_OPT_FUSE, pass_bn_fold},
    {"conv_bias", ONYX_OPT_FUSE, pass_conv_bias},
    {"conv_add", ONYX_OPT_FUSE, pass_conv_add},
    {"conv_act", ONYX_OPT_FUSE, pass_conv_act},
    {"pointwise", ONYX_OPT_POINTWISE, pass_pointwise},
    {"dce", ONYX_OPT_BASIC, pass_dce},
};

onyx_status graph_optimize(ir_graph *g, int opt_level, pass_log *log)
{
  if (!g) return onyx_error(ONYX_ERR_INVALID_ARG, "graph_optimize: NULL graph");
  for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
    if (opt_level < steps[i].level) continue;
    onyx_status st = steps[i].run(g, log);
    if (st != ONYX_OK) return onyx_error_context(st, "graph pass %s", steps[i].name);
  }
  return ONYX_OK;
}
