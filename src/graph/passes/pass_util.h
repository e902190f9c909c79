/* Helpers shared by the graph passes (not part of their interface). */
#ifndef ONYX_GRAPH_PASSES_UTIL_H
#define ONYX_GRAPH_PASSES_UTIL_H

#include "graph/passes/passes.h"
#include "ops/ops.h"

/* Consumers of every tensor among the live nodes (a node reading a tensor
 * twice counts once), and which tensors are graph outputs.  Stale after any
 * change to the graph: rebuild it. */
typedef struct pass_index {
  int n_tensors;
  int *first; /* consumers of t: node[first[t] .. first[t + 1]) */
  int *node;
  bool *is_output;
} pass_index;

onyx_status pass_index_build(const ir_graph *g, pass_index *ix);
void pass_index_free(pass_index *ix);
static inline int pass_n_consumers(const pass_index *ix, int t) { return ix->first[t + 1] - ix->first[t]; }
static inline const int *pass_consumers(const pass_index *ix, int t) { return ix->node + ix->first[t]; }
/* Whether t (a node output) can disappear into a fusion with its one consumer:
 * exactly one consumer and not a graph output. */
static inline bool pass_single_use(const pass_index *ix, int t)
{
  return t >= 0 && !ix->is_output[t] && pass_n_consumers(ix, t) == 1;
}

/* A node is dead (removed at the next compaction) when its op is < 0. */
static inline bool pass_node_live(const ir_node *n) { return n->op >= 0; }
/* A live node that runs (not folded). */
static inline bool pass_node_runs(const ir_node *n) { return n->op >= 0 && !n->folded; }
/* Frees a node's fields (its attrs and params only if it owns them) and marks it dead. */
void pass_node_kill(ir_graph *g, int i);
/* Drops dead nodes (keeping the order) and recomputes tensor producers. */
void pass_compact(ir_graph *g);
/* One rewrite attempt at node i: *hit when it matched (and the graph was then changed, or
 * the status says why not); ONYX_OK and no hit when it does not apply.  arg: the caller's. */
typedef onyx_status (*pass_rewrite_fn)(ir_graph *g, const pass_index *ix, int i, pass_log *log, void *arg,
                                       bool *hit);
/* Tries rewrite at every node in order, rebuilding the consumer index after each hit, until
 * the end or the first error; compacts the graph if anything was rewritten. */
onyx_status pass_rewrite_nodes(ir_graph *g, pass_log *log, pass_rewrite_fn rewrite, void *arg);
/* Node i takes node `from`'s output 0 (becoming its producer), the inputs in[0..n_in) and the
 * name (both malloc'd, taken over; the old ones are freed).  Node `from` is left to the caller. */
void pass_node_absorb(ir_graph *g, int i, int from, int *in, int n_in, char *name);
/* Every live node's input `from` becomes `to` (graph outputs are left alone). */
void pass_replace_uses(ir_graph *g, int from, int to);

/* Whether tensor t is float32 with a known shape. */
bool pass_is_float(const ir_graph *g, int t);
/* Whether t holds a constant value (initializer, Constant, folded). */
static inline bool pass_is_const(const ir_graph *g, int t)
{
  return t >= 0 && g->tensors[t].is_const && g->tensors[t].data;
}

/* "a + b" (malloc'd), NULL on allocation failure (error set). */
char *pass_join(const char *a, const char *b);
/* Adds a constant tensor named after base (made unique), owning data (taken
 * over even on failure).  Returns its index, or -1 with the error set. */
int pass_add_const(ir_graph *g, const char *base, onyx_dtype dt, int ndim, const int64_t *dims, void *data);

/* Attribute builders: fill *a (zeroed first); false on allocation failure. */
bool pass_attr_copy(ir_attr *a, const ir_attr *src);
bool pass_attr_string(ir_attr *a, const char *name, const char *s);
bool pass_attr_ints(ir_attr *a, const char *name, const int64_t *v, size_t n);
bool pass_attr_floats(ir_attr *a, const char *name, const float *v, size_t n);
/* Clears the first n attributes of a list being built and frees it (NULL: nothing). */
void pass_attrs_free(ir_attr *attrs, int n);

/* Replaces node `at` by a new node of internal op `op` named `name`, with
 * these inputs, node `at`'s outputs and these attributes (taken over, even on
 * failure), then parses it and infers its shapes, which must equal the
 * outputs' current ones.  Node `at` is freed.  On failure the graph is
 * unchanged. */
onyx_status pass_replace_node(ir_graph *g, int at, int op, const char *name, int n_in, const int *in,
                              ir_attr *attrs, int n_attrs);

/* The op types a node stands for, for the log: the ops of the latest log entry
 * naming this node, else its op type.  Never NULL (static "" on failure). */
const char *pass_log_ops_of(const pass_log *log, const ir_node *n);
/* Records one rewrite; log may be NULL. */
onyx_status pass_log_add(pass_log *log, const char *pass, const char *node, const char *ops);

#endif
