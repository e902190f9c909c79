/* Helpers shared by the graph passes, and the pass log. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "graph/passes/pass_util.h"

/* ---- consumer index ---- */

onyx_status pass_index_build(const ir_graph *g, pass_index *ix)
{
  memset(ix, 0, sizeof(*ix));
  int nt = g->n_tensors, total = 0;
  ix->n_tensors = nt;
  ix->first = onyx_calloc((size_t)nt + 1, sizeof(int));
  ix->is_output = onyx_calloc((size_t)(nt ? nt : 1), sizeof(bool));
  int *last = onyx_malloc((size_t)(nt ? nt : 1) * sizeof(int)); /* last node counted for t */
  if (!ix->first || !ix->is_output || !last) goto fail;
  for (int t = 0; t < nt; t++) last[t] = -1;
  for (int i = 0; i < g->n_nodes; i++) {
    const ir_node *n = &g->nodes[i];
    if (!pass_node_live(n)) continue;
    for (int k = 0; k < n->n_in; k++) {
      int t = n->in[k];
      if (t < 0 || last[t] == i) continue;
      last[t] = i;
      ix->first[t + 1]++;
      total++;
    }
  }
  for (int t = 0; t < nt; t++) ix->first[t + 1] += ix->first[t];
  ix->node = onyx_malloc((size_t)(total ? total : 1) * sizeof(int));
  if (!ix->node) goto fail;
  int *fill = last; /* reused below: consumers of t written so far, after the pass above */
  int *seen = onyx_malloc((size_t)(nt ? nt : 1) * sizeof(int));
  if (!seen) goto fail;
  for (int t = 0; t < nt; t++) {
    fill[t] = 0;
    seen[t] = -1;
  }
  for (int i = 0; i < g->n_nodes; i++) {
    const ir_node *n = &g->nodes[i];
    if (!pass_node_live(n)) continue;
    for (int k = 0; k < n->n_in; k++) {
      int t = n->in[k];
      if (t < 0 || seen[t] == i) continue;
      seen[t] = i;
      ix->node[ix->first[t] + fill[t]++] = i;
    }
  }
  free(seen);
  free(last);
  for (int i = 0; i < g->n_outputs; i++) ix->is_output[g->outputs[i]] = true;
  return ONYX_OK;
fail:
  free(last);
  pass_index_free(ix);
  return onyx_error(ONYX_ERR_NO_MEMORY, "graph passes: cannot allocate the consumer index");
}

void pass_index_free(pass_index *ix)
{
  free(ix->first);
  free(ix->node);
  free(ix->is_output);
  memset(ix, 0, sizeof(*ix));
}

/* ---- nodes ---- */

void pass_node_kill(ir_graph *g, int i)
{
  ir_node *n = &g->nodes[i];
  if (g->borrows_node_data && !n->owns_node_data) { /* the source graph's */
    n->attrs = NULL;
    n->n_attrs = 0;
    n->params = NULL;
  }
  ir_node_clear(n);
  n->op = -1;
}

void pass_compact(ir_graph *g)
{
  int k = 0;
  for (int i = 0; i < g->n_nodes; i++)
    if (pass_node_live(&g->nodes[i])) g->nodes[k++] = g->nodes[i];
  g->n_nodes = k;
  for (int t = 0; t < g->n_tensors; t++) g->tensors[t].producer = -1;
  for (int i = 0; i < g->n_nodes; i++)
    for (int o = 0; o < g->nodes[i].n_out; o++)
      if (g->nodes[i].out[o] >= 0) g->tensors[g->nodes[i].out[o]].producer = i;
}

onyx_status pass_rewrite_nodes(ir_graph *g, pass_log *log, pass_rewrite_fn rewrite, void *arg)
{
  onyx_status st = ONYX_OK;
  bool changed = false;
  pass_index ix;
  ONYX_TRY(pass_index_build(g, &ix));
  for (int i = 0; i < g->n_nodes && st == ONYX_OK; i++) {
    bool hit = false;
    st = rewrite(g, &ix, i, log, arg, &hit);
    if (!hit) continue;
    changed = true;
    pass_index_free(&ix);
    if (st == ONYX_OK) st = pass_index_build(g, &ix);
  }
  pass_index_free(&ix);
  if (changed) pass_compact(g);
  return st;
}

void pass_node_absorb(ir_graph *g, int i, int from, int *in, int n_in, char *name)
{
  ir_node *n = &g->nodes[i];
  free(n->in);
  n->in = in;
  n->n_in = n_in;
  n->out[0] = g->nodes[from].out[0];
  g->tensors[n->out[0]].producer = i;
  free(n->name);
  n->name = name;
}

void pass_replace_uses(ir_graph *g, int from, int to)
{
  for (int i = 0; i < g->n_nodes; i++) {
    ir_node *n = &g->nodes[i];
    if (!pass_node_live(n)) continue;
    for (int k = 0; k < n->n_in; k++)
      if (n->in[k] == from) n->in[k] = to;
  }
}

bool pass_is_float(const ir_graph *g, int t)
{
  return t >= 0 && g->tensors[t].dtype == ONYX_DTYPE_FLOAT && ir_shape_known(&g->tensors[t]);
}

/* ---- names and constants ---- */

char *pass_join(const char *a, const char *b)
{
  size_t la = strlen(a), lb = strlen(b);
  char *s = onyx_malloc(la + lb + 4);
  if (!s) return NULL;
  memcpy(s, a, la);
  memcpy(s + la, " + ", 3);
  memcpy(s + la + 3, b, lb + 1);
  return s;
}

int pass_add_const(ir_graph *g, const char *base, onyx_dtype dt, int ndim, const int64_t *dims, void *data)
{
  size_t cap = strlen(base) + 32;
  char *name = onyx_malloc(cap);
  if (!name) {
    free(data);
    return -1;
  }
  snprintf(name, cap, "%s", base);
  for (int k = 1; ir_find_tensor(g, name) >= 0; k++) snprintf(name, cap, "%s_%d", base, k);
  int t = ir_add_tensor(g, name);
  free(name);
  if (t < 0) {
    free(data);
    return -1;
  }
  ir_tensor *x = &g->tensors[t];
  ir_tensor_set(x, dt, ndim, dims);
  x->data = data;
  x->owns_data = true;
  x->is_const = true;
  return t;
}

/* ---- attributes ---- */

bool pass_attr_copy(ir_attr *a, const ir_attr *src)
{
  memset(a, 0, sizeof(*a));
  a->type = src->type;
  a->i = src->i;
  a->f = src->f;
  a->n = src->n;
  if (!(a->name = onyx_strdup(src->name))) goto fail;
  if (src->s && !(a->s = onyx_strdup(src->s))) goto fail;
  if (src->ints) {
    if (!(a->ints = onyx_malloc((src->n ? src->n : 1) * sizeof(int64_t)))) goto fail;
    if (src->n) memcpy(a->ints, src->ints, src->n * sizeof(int64_t));
  }
  if (src->floats) {
    if (!(a->floats = onyx_malloc((src->n ? src->n : 1) * sizeof(float)))) goto fail;
    if (src->n) memcpy(a->floats, src->floats, src->n * sizeof(float));
  }
  if (src->strings) {
    if (!(a->strings = onyx_calloc(src->n ? src->n : 1, sizeof(char *)))) goto fail;
    for (size_t i = 0; i < src->n; i++)
      if (src->strings[i] && !(a->strings[i] = onyx_strdup(src->strings[i]))) goto fail;
  }
  /* tensor attributes are not needed by any fused op: dropped */
  if (src->type == IR_ATTR_TENSOR) a->type = IR_ATTR_OTHER;
  return true;
fail:
  ir_attr_clear(a);
  return false;
}

bool pass_attr_string(ir_attr *a, const char *name, const char *s)
{
  memset(a, 0, sizeof(*a));
  a->type = IR_ATTR_STRING;
  a->name = onyx_strdup(name);
  a->s = onyx_strdup(s);
  if (a->name && a->s) return true;
  ir_attr_clear(a);
  return false;
}

bool pass_attr_ints(ir_attr *a, const char *name, const int64_t *v, size_t n)
{
  memset(a, 0, sizeof(*a));
  a->type = IR_ATTR_INTS;
  a->n = n;
  a->name = onyx_strdup(name);
  a->ints = onyx_malloc((n ? n : 1) * sizeof(int64_t));
  if (!a->name || !a->ints) {
    ir_attr_clear(a);
    return false;
  }
  if (n) memcpy(a->ints, v, n * sizeof(int64_t));
  return true;
}

bool pass_attr_floats(ir_attr *a, const char *name, const float *v, size_t n)
{
  memset(a, 0, sizeof(*a));
  a->type = IR_ATTR_FLOATS;
  a->n = n;
  a->name = onyx_strdup(name);
  a->floats = onyx_malloc((n ? n : 1) * sizeof(float));
  if (!a->name || !a->floats) {
    ir_attr_clear(a);
    return false;
  }
  if (n) memcpy(a->floats, v, n * sizeof(float));
  return true;
}

void pass_attrs_free(ir_attr *attrs, int n)
{
  for (int i = 0; attrs && i < n; i++) ir_attr_clear(&attrs[i]);
  free(attrs);
}

/* ---- replacing a node ---- */

onyx_status pass_replace_node(ir_graph *g, int at, int op, const char *name, int n_in, const int *in,
                              ir_attr *attrs, int n_attrs)
{
  onyx_status st = ONYX_OK;
  ir_node *old = &g->nodes[at];
  ir_node n;
  memset(&n, 0, sizeof(n));
  n.op = op;
  n.opset = 1;
  n.owns_node_data = true;
  n.attrs = attrs;
  n.n_attrs = n_attrs;
  n.n_in = n_in;
  n.n_out = old->n_out;
  n.name = onyx_strdup(name);
  n.op_type = onyx_strdup(op_table[op].name);
  n.domain = onyx_strdup(op_domain(op));
  n.in = onyx_malloc((size_t)(n_in ? n_in : 1) * sizeof(int));
  n.out = onyx_malloc((size_t)(old->n_out ? old->n_out : 1) * sizeof(int));
  if (!n.name || !n.op_type || !n.domain || !n.in || !n.out) {
    st = onyx_error(ONYX_ERR_NO_MEMORY, "graph passes: out of memory making node '%s'", name);
    goto fail;
  }
  memcpy(n.in, in, (size_t)n_in * sizeof(int));
  memcpy(n.out, old->out, (size_t)old->n_out * sizeof(int));
  if ((st = op_table[op].parse(&n)) != ONYX_OK) goto fail;
  /* shape inference must reproduce the outputs the replaced nodes made */
  ir_tensor saved[8];
  int ns = n.n_out < 8 ? n.n_out : 8;
  for (int k = 0; k < ns; k++)
    if (n.out[k] >= 0) saved[k] = g->tensors[n.out[k]];
  st = op_table[op].infer(g, &n);
  for (int k = 0; st == ONYX_OK && k < ns; k++) {
    if (n.out[k] < 0) continue;
    const ir_tensor *t = &g->tensors[n.out[k]];
    if (t->dtype != saved[k].dtype || t->ndim != saved[k].ndim ||
        memcmp(t->dims, saved[k].dims, (size_t)t->ndim * sizeof(int64_t)) != 0)
      st = onyx_error(ONYX_ERR_INTERNAL, "graph passes: fused node '%s' would change the shape of '%s'", name,
                      t->name);
  }
  if (st != ONYX_OK) {
    for (int k = 0; k < ns; k++) {
      if (n.out[k] < 0) continue;
      ir_tensor *t = &g->tensors[n.out[k]];
      t->dtype = saved[k].dtype;
      t->ndim = saved[k].ndim;
      memcpy(t->dims, saved[k].dims, sizeof(t->dims));
    }
    goto fail;
  }
  pass_node_kill(g, at);
  g->nodes[at] = n;
  return ONYX_OK;
fail:
  ir_node_clear(&n); /* frees the attrs too: they were taken over */
  return onyx_error_context(st, "graph passes: making %s node '%s'", op_table[op].name, name);
}

/* ---- log ---- */

void pass_log_init(pass_log *log) { memset(log, 0, sizeof(*log)); }

void pass_log_free(pass_log *log)
{
  if (!log) return;
  for (int i = 0; i < log->n; i++) {
    free(log->entries[i].pass);
    free(log->entries[i].node);
    free(log->entries[i].ops);
  }
  free(log->entries);
  memset(log, 0, sizeof(*log));
}

int pass_log_count(const pass_log *log, const char *pass)
{
  int c = 0;
  for (int i = 0; log && i < log->n; i++)
    if (!pass || strcmp(log->entries[i].pass, pass) == 0) c++;
  return c;
}

const char *pass_log_ops_of(const pass_log *log, const ir_node *n)
{
  for (int i = log ? log->n - 1 : -1; i >= 0; i--)
    if (strcmp(log->entries[i].node, n->name) == 0) return log->entries[i].ops;
  return n->op_type ? n->op_type : "";
}

onyx_status pass_log_add(pass_log *log, const char *pass, const char *node, const char *ops)
{
  if (!log) return ONYX_OK;
  if (!onyx_grow((void **)&log->entries, &log->cap, log->n + 1, sizeof(pass_log_entry)))
    return onyx_error(ONYX_ERR_NO_MEMORY, "graph passes: cannot grow the log");
  pass_log_entry *e = &log->entries[log->n];
  e->pass = onyx_strdup(pass);
  e->node = onyx_strdup(node);
  e->ops = onyx_strdup(ops);
  if (!e->pass || !e->node || !e->ops) {
    free(e->pass);
    free(e->node);
    free(e->ops);
    return onyx_error(ONYX_ERR_NO_MEMORY, "graph passes: cannot grow the log");
  }
  log->n++;
  return ONYX_OK;
}
