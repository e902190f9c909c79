/* onyx info MODEL.onnx [--shapes NAME:1x3x224x224,...]
 * Prints producer, versions, I/O, op histogram, parameters and, for concrete
 * input shapes (symbolic dims default to 1), MACs and FLOPs. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onyx.h"
#include "tools/cli_util.h"
#include "tools/commands.h"

static void print_tensor(const onyx_tensor_info *t)
{
  printf("  %-24s %-8s ", t->name, onyx_dtype_name(t->dtype));
  if (t->ndim < 0) {
    printf("(unknown rank)\n");
    return;
  }
  printf("[");
  for (int d = 0; d < t->ndim; d++) {
    if (d) printf(", ");
    if (t->dim_params[d]) printf("%s", t->dim_params[d]);
    else if (t->dims[d] < 0) printf("?");
    else printf("%lld", (long long)t->dims[d]);
  }
  printf("]\n");
}

typedef struct op_count {
  const char *op;
  int count;
} op_count;

static int cmp_count(const void *a, const void *b)
{
  const op_count *x = a, *y = b;
  if (x->count != y->count) return y->count - x->count;
  return strcmp(x->op, y->op);
}

/* Engine files start with the container's magic. */
static bool is_engine_file(const char *path)
{
  char magic[8] = {0};
  FILE *f = fopen(path, "rb");
  if (!f) return false;
  size_t n = fread(magic, 1, sizeof(magic), f);
  fclose(f);
  return n == sizeof(magic) && memcmp(magic, "ONYXENG", 8) == 0;
}

static int engine_info(const char *path)
{
  onyx_engine *e;
  if (onyx_engine_inspect(path, &e) != ONYX_OK) {
    cli_error("%s", onyx_last_error());
    return 1;
  }
  static const char *const prec[] = {"fp32", "tf32", "fp16"};
  printf("engine:     %s\nbuilt for:  %s\nprecision:  %s\ninputs:\n", path, onyx_engine_target(e),
         prec[onyx_engine_precision(e)]);
  char a[160], b[160], c[160];
  onyx_tensor_info ti;
  for (int i = 0; i < onyx_engine_num_inputs(e); i++) {
    onyx_shape_range r;
    onyx_engine_input(e, i, &ti);
    onyx_engine_input_range(e, i, &r);
    printf("  %-24s %-8s min %s  opt %s  max %s\n", ti.name, onyx_dtype_name(ti.dtype),
           cli_dims_str(r.ndim, r.min, a, sizeof(a)), cli_dims_str(r.ndim, r.opt, b, sizeof(b)),
           cli_dims_str(r.ndim, r.max, c, sizeof(c)));
  }
  printf("outputs:\n");
  for (int i = 0; i < onyx_engine_num_outputs(e); i++) {
    onyx_engine_output(e, i, &ti);
    print_tensor(&ti);
  }
  onyx_engine_memory mem;
  onyx_engine_get_memory(e, &mem);
  printf("memory:     weights %.2f MB (shared by contexts), activations %.2f MB + workspace %.2f MB per context\n",
         (double)mem.weight_bytes / 1e6, (double)mem.activation_bytes / 1e6, (double)mem.workspace_bytes / 1e6);
  printf("layers:     %d (at the opt shapes)\n", onyx_engine_num_layers(e));
  int side = 0;
  for (int i = 0; i < onyx_engine_num_layers(e); i++) {
    onyx_layer_info li;
    onyx_engine_layer(e, i, &li);
    printf("  [%3d] %-16s %-5s %-36s ", i, li.op_type, li.precision, li.kernel);
    if (li.tactic == INT64_MIN) printf("%-7s", "-");
    else printf("%-7lld", (long long)li.tactic);
    printf(" %s%s\n", li.side_stream ? "|| " : "", li.name);
    side += li.side_stream != 0;
  }
  if (side)
    printf("  (||: %d layer(s) run on a second stream, beside the layer above; ONYX_CONCURRENT=0: none)\n",
           side);
  onyx_engine_free(e);
  return 0;
}

static void usage(FILE *f)
{
  fprintf(f, "usage: onyx info MODEL.onnx [--shapes NAME:DIMS[,NAME:DIMS...]]\n"
             "       onyx info MODEL.engine   (layers, kernels, tactics, bindings, memory; no GPU needed)\n"
             "  --shapes  concrete input shapes for MACs/FLOPs, e.g. input:8x3x224x224\n"
             "            (symbolic dimensions default to 1)\n");
}

int cmd_info(int argc, char **argv)
{
  const char *path = NULL, *shapes = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      usage(stdout);
      return 0;
    } else if (!strcmp(argv[i], "--shapes")) {
      if (++i >= argc) return cli_fail("onyx info: --shapes needs a value");
      shapes = argv[i];
    } else if (argv[i][0] == '-') {
      usage(stderr);
      return cli_fail("onyx info: unknown option '%s'", argv[i]);
    } else if (!path) {
      path = argv[i];
    } else {
      return cli_fail("onyx info: more than one model given ('%s')", argv[i]);
    }
  }
  if (!path) {
    usage(stderr);
    return cli_fail("onyx info: no model given");
  }
  if (cli_parse_only) return 0;
  if (is_engine_file(path)) {
    if (shapes) return cli_fail("onyx info: --shapes applies to models, not engines");
    return engine_info(path);
  }
  onyx_model *m = NULL;
  onyx_session *s = NULL;
  op_count *hist = NULL;
  int rc = 1;
  if (onyx_model_load(path, &m) != ONYX_OK) {
    cli_error("%s", onyx_last_error());
    goto out;
  }
  onyx_model_meta meta;
  onyx_model_get_meta(m, &meta);
  printf("model:      %s\n", path);
  printf("producer:   %s %s\n", meta.producer_name[0] ? meta.producer_name : "(none)", meta.producer_version);
  printf("ir_version: %lld\n", (long long)meta.ir_version);
  printf("opsets:    ");
  for (int i = 0; i < meta.n_opsets; i++)
    printf(" %s:%lld", meta.opset_domains[i][0] ? meta.opset_domains[i] : "ai.onnx",
           (long long)meta.opset_versions[i]);
  printf("\ninputs:\n");
  onyx_tensor_info ti;
  for (int i = 0; i < onyx_model_num_inputs(m); i++) {
    onyx_model_input(m, i, &ti);
    print_tensor(&ti);
  }
  printf("outputs:\n");
  for (int i = 0; i < onyx_model_num_outputs(m); i++) {
    onyx_model_output(m, i, &ti);
    print_tensor(&ti);
  }
  hist = calloc((size_t)meta.n_nodes + 1, sizeof(*hist));
  if (!hist) {
    cli_error("out of memory");
    goto out;
  }
  int nh = 0;
  for (int i = 0; i < meta.n_nodes; i++) {
    onyx_node_info ni;
    onyx_model_node(m, i, &ni);
    int k = 0;
    while (k < nh && strcmp(hist[k].op, ni.op_type)) k++;
    if (k == nh) hist[nh++].op = ni.op_type;
    hist[k].count++;
  }
  qsort(hist, (size_t)nh, sizeof(*hist), cmp_count);
  printf("nodes:      %d\n", meta.n_nodes);
  for (int k = 0; k < nh; k++) printf("  %-24s %d\n", hist[k].op, hist[k].count);
  printf("parameters: %lld (%.2f MB)\n", (long long)meta.n_params, (double)meta.param_bytes / 1e6);

  if (onyx_session_create(m, NULL, &s) != ONYX_OK) {
    cli_error("%s", onyx_last_error());
    goto out;
  }
  int shapes_rc = cli_apply_shapes(s, m, shapes); /* prints its own error */
  if (shapes_rc) {
    rc = shapes_rc;
    goto out;
  }
  if (onyx_session_prepare(s) != ONYX_OK) {
    cli_error("%s", onyx_last_error());
    goto out;
  }
  onyx_cost cost;
  onyx_session_cost(s, &cost);
  printf("for input shapes:");
  for (int i = 0; i < onyx_model_num_inputs(m); i++) {
    onyx_session_input(s, i, &ti);
    char buf[160];
    printf(" %s:%s", ti.name, cli_dims_str(ti.ndim, ti.dims, buf, sizeof(buf)));
  }
  printf("\n  MACs:   %lld (%.3f G)\n  FLOPs:  %lld (%.3f G)\n  activations: %.2f MB, %d nodes after constant folding\n",
         (long long)cost.macs, (double)cost.macs / 1e9, (long long)cost.flops, (double)cost.flops / 1e9,
         (double)cost.activation_bytes / 1e6, cost.n_nodes);
  rc = 0;
out:
  free(hist);
  onyx_session_free(s);
  onyx_model_free(m);
  return rc;
}
