#include "graph/prepare.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"

size_t graph_max_tensor_bytes(void)
{
  const char *env = getenv("ONYX_MAX_TENSOR_BYTES");
  size_t v = 0;
  if (env && *env) {
    char *end;
    unsigned long long e = strtoull(env, &end, 10);
    if (*end == '\0' && e > 0) v = e < GRAPH_MAX_TENSOR_BYTES_CAP ? (size_t)e : GRAPH_MAX_TENSOR_BYTES_CAP;
  }
  if (!v) { /* what fits in memory: no tensor can be larger than the machine's RAM */
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    v = pages > 0 && page > 0 ? (size_t)pages * (size_t)page : (size_t)16 << 30;
    if (v > GRAPH_MAX_TENSOR_BYTES_CAP) v = GRAPH_MAX_TENSOR_BYTES_CAP;
  }
  return v;
}

bool graph_tensor_fits(int ndim, const int64_t *dims, onyx_dtype dtype, size_t limit)
{
  int64_t n = (int64_t)onyx_dtype_size(dtype);
  if (n < 1) n = 1;
  for (int i = 0; i < ndim; i++)
    if (dims[i] < 0 || onyx_mul_overflow_i64(n, dims[i] ? dims[i] : 1, &n)) return false;
  return (uint64_t)n <= (uint64_t)limit;
}

onyx_status graph_toposort(ir_graph *g)
{
  onyx_status st = ONYX_OK;
  int n = g->n_nodes, nt = g->n_tensors, total = 0;
  size_t nn = (size_t)(n ? n : 1);
  int *indeg = onyx_calloc(nn, sizeof(int));
  int *queue = onyx_malloc(nn * sizeof(int));
  int *first = onyx_calloc((size_t)nt + 1, sizeof(int)); /* consumers of t: uses[first[t]..first[t+1]) */
  int *cursor = onyx_calloc((size_t)nt + 1, sizeof(int));
  int *uses = NULL;
  ir_node *sorted = onyx_malloc(nn * sizeof(ir_node));
  if (!indeg || !queue || !first || !cursor || !sorted) {
    st = ONYX_ERR_NO_MEMORY;
    goto out_free;
  }
  for (int t = 0; t < nt; t++) g->tensors[t].producer = -1;
  for (int i = 0; i < n; i++)
    for (int k = 0; k < g->nodes[i].n_out; k++)
      if (g->nodes[i].out[k] >= 0) g->tensors[g->nodes[i].out[k]].producer = i;
  for (int i = 0; i < n; i++)
    for (int k = 0; k < g->nodes[i].n_in; k++) {
      int t = g->nodes[i].in[k];
      if (t >= 0 && g->tensors[t].producer >= 0) {
        indeg[i]++;
        first[t + 1]++;
        total++;
      }
    }
  for (int t = 0; t < nt; t++) first[t + 1] += first[t];
  uses = onyx_malloc((size_t)(total ? total : 1) * sizeof(int));
  if (!uses) {
    st = ONYX_ERR_NO_MEMORY;
    goto out_free;
  }
  for (int i = 0; i < n; i++)
    for (int k = 0; k < g->nodes[i].n_in; k++) {
      int t = g->nodes[i].in[k];
      if (t >= 0 && g->tensors[t].producer >= 0) uses[first[t] + cursor[t]++] = i;
    }
  /* Kahn's algorithm, seeded in file order so valid orders are kept */
  int head = 0, tail = 0;
  for (int i = 0; i < n; i++)
    if (indeg[i] == 0) queue[tail++] = i;
  while (head < tail) {
    int i = queue[head++];
    for (int k = 0; k < g->nodes[i].n_out; k++) {
      int t = g->nodes[i].out[k];
      if (t < 0) continue;
      for (int u = first[t]; u < first[t + 1]; u++)
        if (--indeg[uses[u]] == 0) queue[tail++] = uses[u];
    }
  }
  if (tail < n) {
    for (int i = 0; i < n; i++)
      if (indeg[i] > 0) {
        st = onyx_error(ONYX_ERR_INVALID_MODEL,
                        "the graph has a cycle: %s node '%s' depends on its own output",
                        g->nodes[i].op_type, g->nodes[i].name);
        break;
      }
    goto out_free;
  }
  for (int i = 0; i < n; i++) sorted[i] = g->nodes[queue[i]];
  if (n > 0) memcpy(g->nodes, sorted, (size_t)n * sizeof(ir_node));
  for (int i = 0; i < n; i++)
    for (int k = 0; k < g->nodes[i].n_out; k++)
      if (g->nodes[i].out[k] >= 0) g->tensors[g->nodes[i].out[k]].producer = i;
out_free:
  free(indeg);
  free(queue);
  free(first);
  free(cursor);
  free(uses);
  free(sorted);
  return st;
}

static bool node_foldable(const ir_graph *g, const ir_node *n)
{
  if (n->op == ONYX_OP_SHAPE) return true; /* needs only its input's shape */
  for (int i = 0; i < n->n_in; i++) {
    if (n->in[i] < 0) continue;
    if (!g->tensors[n->in[i]].is_const) return false;
  }
  return true;
}

static onyx_status check_outputs(const ir_graph *g, const ir_node *n, size_t limit)
{
  for (int k = 0; k < n->n_out; k++) {
    const ir_tensor *t = ir_out(g, n, k);
    if (!t) continue;
    if (!ir_shape_known(t) || t->dtype == ONYX_DTYPE_UNDEFINED)
      return onyx_error(ONYX_ERR_INTERNAL, "%s node '%s': shape inference left output '%s' unknown",
                        n->op_type, n->name, t->name);
    if (!graph_tensor_fits(t->ndim, t->dims, t->dtype, limit)) {
      char d[160];
      return onyx_error(ONYX_ERR_SHAPE,
                        "%s node '%s': output '%s' of shape %s is larger than the %zu-byte tensor limit "
                        "(set ONYX_MAX_TENSOR_BYTES to change it)",
                        n->op_type, n->name, t->name, onyx_dims_str(t->ndim, t->dims, d, sizeof(d)),
                        limit);
    }
  }
  return ONYX_OK;
}

onyx_status graph_prepare(ir_graph *g, cpu_ctx *cpu)
{
  size_t limit = graph_max_tensor_bytes();
  for (int i = 0; i < g->n_inputs; i++) {
    const ir_tensor *t = &g->tensors[g->inputs[i]];
    if (!ir_shape_known(t))
      return onyx_error(ONYX_ERR_SHAPE, "graph input '%s' has no concrete shape (give one)", t->name);
    if (!graph_tensor_fits(t->ndim, t->dims, t->dtype, limit)) {
      char d[160];
      return onyx_error(ONYX_ERR_SHAPE,
                        "graph input '%s' of shape %s is larger than the %zu-byte tensor limit "
                        "(set ONYX_MAX_TENSOR_BYTES to change it)",
                        t->name, onyx_dims_str(t->ndim, t->dims, d, sizeof(d)), limit);
    }
  }
  for (int i = 0; i < g->n_nodes; i++) {
    ir_node *n = &g->nodes[i];
    ONYX_TRY(op_table[n->op].infer(g, n));
    ONYX_TRY(check_outputs(g, n, limit));
    n->folded = false;
    if (!node_foldable(g, n)) continue;
    for (int k = 0; k < n->n_out; k++) {
      ir_tensor *t = ir_out(g, n, k);
      if (!t || t->data) continue; /* infer may have produced the value itself */
      t->data = onyx_calloc(1, ir_tensor_bytes(t));
      if (!t->data) return onyx_error_context(ONYX_ERR_NO_MEMORY, "folding %s node '%s'", n->op_type, n->name);
      t->owns_data = true;
    }
    onyx_status st = cpu_kernels[n->op](cpu, g, n);
    if (st != ONYX_OK) return onyx_error_context(st, "while folding constants");
    for (int k = 0; k < n->n_out; k++) {
      ir_tensor *t = ir_out(g, n, k);
      if (t) t->is_const = true;
    }
    n->folded = true;
  }
  return ONYX_OK;
}
