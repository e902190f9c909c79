/* ONNX ModelProto -> ir_graph.  Every field read here comes from an untrusted
 * file: sizes, names and references are checked and errors name the place. */
#include "onnx/loader.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/util.h"
#include "graph/prepare.h"
#include "onnx.pb-c.h"
#include "onnx/wire_check.h"
#include "ops/ops.h"

#define MIN_IR_VERSION 3
#define MAX_IR_VERSION 10
#define MAX_ONNX_OPSET 21

/* ---- tensors ------------------------------------------------------------ */

/* Resolves an external-data location inside base_dir; refuses escapes. */
static onyx_status external_path(const char *base_dir, const char *loc, const char *tname, char **out)
{
  if (!base_dir)
    return onyx_error(ONYX_ERR_INVALID_MODEL,
                      "tensor '%s' uses external data '%s' but the model was not loaded from a file",
                      tname, loc);
  if (!loc[0] || loc[0] == '/')
    return onyx_error(ONYX_ERR_INVALID_MODEL,
                      "tensor '%s': external data location '%s' must be a relative path inside the model's directory",
                      tname, loc);
  for (const char *p = loc; *p;) { /* no ".." component */
    const char *e = strchr(p, '/');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    if (len == 2 && p[0] == '.' && p[1] == '.')
      return onyx_error(ONYX_ERR_INVALID_MODEL,
                        "tensor '%s': external data location '%s' leaves the model's directory", tname, loc);
    p += len + (e ? 1 : 0);
  }
  size_t n = strlen(base_dir) + strlen(loc) + 2;
  char *joined = onyx_malloc(n);
  if (!joined) return ONYX_ERR_NO_MEMORY;
  snprintf(joined, n, "%s/%s", base_dir, loc);
  /* resolve symlinks: the real path must stay under the real base directory */
  char real_base[PATH_MAX], real_file[PATH_MAX];
  if (!realpath(base_dir, real_base) || !realpath(joined, real_file)) {
    onyx_status st = onyx_error(ONYX_ERR_IO, "tensor '%s': external data file '%s' cannot be opened: %s",
                                tname, joined, strerror(errno));
    free(joined);
    return st;
  }
  size_t bl = strlen(real_base);
  if (strncmp(real_file, real_base, bl) != 0 || (real_file[bl] != '/' && !(bl == 1 && real_base[0] == '/'))) {
    onyx_status st = onyx_error(ONYX_ERR_INVALID_MODEL,
                                "tensor '%s': external data location '%s' resolves outside the model's directory",
                                tname, loc);
    free(joined);
    return st;
  }
  *out = joined;
  return ONYX_OK;
}

static onyx_status read_external(const Onnx__TensorProto *tp, const char *base_dir, const char *tname,
                                 void *dst, size_t nbytes)
{
  const char *loc = NULL;
  long long offset = 0, length = -1;
  for (size_t i = 0; i < tp->n_external_data; i++) {
    const Onnx__StringStringEntryProto *e = tp->external_data[i];
    if (!e->key || !e->value) continue;
    char *end;
    if (strcmp(e->key, "location") == 0) {
      loc = e->value;
    } else if (strcmp(e->key, "offset") == 0) {
      errno = 0;
      offset = strtoll(e->value, &end, 10);
      if (*end || errno || offset < 0)
        return onyx_error(ONYX_ERR_INVALID_MODEL, "tensor '%s': bad external data offset '%s'", tname, e->value);
    } else if (strcmp(e->key, "length") == 0) {
      errno = 0;
      length = strtoll(e->value, &end, 10);
      if (*end || errno || length < 0)
        return onyx_error(ONYX_ERR_INVALID_MODEL, "tensor '%s': bad external data length '%s'", tname, e->value);
    }
  }
  if (!loc) return onyx_error(ONYX_ERR_INVALID_MODEL, "tensor '%s': external data without a location", tname);
  if (length >= 0 && (size_t)length != nbytes)
    return onyx_error(ONYX_ERR_INVALID_MODEL,
                      "tensor '%s': external data length %lld does not match its shape (%zu bytes)", tname,
                      length, nbytes);
  char *path = NULL;
  ONYX_TRY(external_path(base_dir, loc, tname, &path));
  onyx_status st = ONYX_OK;
  FILE *f = fopen(path, "rb");
  struct stat sb;
  if (!f || fstat(fileno(f), &sb) != 0) {
    st = onyx_error(ONYX_ERR_IO, "tensor '%s': cannot open external data '%s': %s", tname, path, strerror(errno));
    goto out;
  }
  if ((unsigned long long)offset > (unsigned long long)sb.st_size ||
      nbytes > (size_t)(sb.st_size - offset)) {
    st = onyx_error(ONYX_ERR_INVALID_MODEL,
                    "tensor '%s': external data '%s' is %lld bytes, too short for %zu bytes at offset %lld",
                    tname, loc, (long long)sb.st_size, nbytes, offset);
    goto out;
  }
  if (fseeko(f, (off_t)offset, SEEK_SET) != 0 || (nbytes && fread(dst, 1, nbytes, f) != nbytes))
    st = onyx_error(ONYX_ERR_IO, "tensor '%s': cannot read external data '%s'", tname, path);
out:
  if (f) fclose(f);
  free(path);
  return st;
}

/* Copies n elements stored in a repeated field of wider type into dst. */
static void narrow_int32(const int32_t *src, size_t n, onyx_dtype dt, void *dst)
{
  for (size_t i = 0; i < n; i++) {
    switch (dt) {
    case ONYX_DTYPE_INT32: ((int32_t *)dst)[i] = src[i]; break;
    case ONYX_DTYPE_INT16: ((int16_t *)dst)[i] = (int16_t)src[i]; break;
    case ONYX_DTYPE_UINT16:
    case ONYX_DTYPE_FLOAT16: ((uint16_t *)dst)[i] = (uint16_t)src[i]; break;
    case ONYX_DTYPE_INT8: ((int8_t *)dst)[i] = (int8_t)src[i]; break;
    case ONYX_DTYPE_UINT8: ((uint8_t *)dst)[i] = (uint8_t)src[i]; break;
    case ONYX_DTYPE_BOOL: ((uint8_t *)dst)[i] = src[i] != 0; break;
    default: break;
    }
  }
}

static onyx_status tensor_from_proto(const Onnx__TensorProto *tp, const char *base_dir, ir_tensor *t)
{
  const char *tname = (tp->name && tp->name[0]) ? tp->name : "(unnamed)";
  if (tp->segment)
    return onyx_error(ONYX_ERR_UNSUPPORTED, "tensor '%s': segmented tensors are not supported", tname);
  int dt = tp->has_data_type ? tp->data_type : 0;
  if (!onyx_dtype_valid(dt) || dt == ONYX_DTYPE_STRING)
    return onyx_error(ONYX_ERR_UNSUPPORTED, "tensor '%s': data type %d is not supported", tname, dt);
  if (tp->n_dims > ONYX_MAX_DIMS)
    return onyx_error(ONYX_ERR_UNSUPPORTED, "tensor '%s' has rank %zu, more than %d", tname, tp->n_dims,
                      ONYX_MAX_DIMS);
  t->dtype = (onyx_dtype)dt;
  t->ndim = (int)tp->n_dims;
  for (size_t i = 0; i < tp->n_dims; i++) {
    if (tp->dims[i] < 0)
      return onyx_error(ONYX_ERR_INVALID_MODEL, "tensor '%s' has a negative dimension (%lld)", tname,
                        (long long)tp->dims[i]);
    t->dims[i] = tp->dims[i];
  }
  size_t limit = graph_max_tensor_bytes();
  if (!graph_tensor_fits(t->ndim, t->dims, t->dtype, limit)) {
    char d[160];
    return onyx_error(ONYX_ERR_INVALID_MODEL,
                      "tensor '%s' of shape %s is too large (the limit is %zu bytes; set ONYX_MAX_TENSOR_BYTES "
                      "to change it)",
                      tname, onyx_dims_str(t->ndim, t->dims, d, sizeof(d)), limit);
  }
  int64_t numel = onyx_numel(t->ndim, t->dims), nbytes = numel * (int64_t)onyx_dtype_size(t->dtype);
  t->data = onyx_calloc(1, (size_t)nbytes);
  if (!t->data) return ONYX_ERR_NO_MEMORY;
  t->owns_data = true;
  t->is_const = true;
  size_t n = (size_t)numel, nb = (size_t)nbytes;
  const char *field = NULL;
  size_t have = 0;

  if (tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
    return read_external(tp, base_dir, tname, t->data, nb);
  if (tp->has_raw_data) {
    if (tp->raw_data.len != nb)
      return onyx_error(ONYX_ERR_INVALID_MODEL, "tensor '%s': raw_data has %zu bytes, its shape needs %zu",
                        tname, tp->raw_data.len, nb);
    if (nb) memcpy(t->data, tp->raw_data.data, nb); /* little-endian on every host onyx supports */
    return ONYX_OK;
  }
  switch (t->dtype) {
  case ONYX_DTYPE_FLOAT:
    field = "float_data", have = tp->n_float_data;
    if (have == n && n) memcpy(t->data, tp->float_data, nb);
    break;
  case ONYX_DTYPE_DOUBLE:
    field = "double_data", have = tp->n_double_data;
    if (have == n && n) memcpy(t->data, tp->double_data, nb);
    break;
  case ONYX_DTYPE_INT64:
    field = "int64_data", have = tp->n_int64_data;
    if (have == n && n) memcpy(t->data, tp->int64_data, nb);
    break;
  case ONYX_DTYPE_UINT32:
  case ONYX_DTYPE_UINT64:
    field = "uint64_data", have = tp->n_uint64_data;
    if (have == n) {
      for (size_t i = 0; i < n; i++) {
        if (t->dtype == ONYX_DTYPE_UINT32)
          ((uint32_t *)t->data)[i] = (uint32_t)tp->uint64_data[i];
        else
          ((uint64_t *)t->data)[i] = tp->uint64_data[i];
      }
    }
    break;
  default:
    field = "int32_data", have = tp->n_int32_data;
    if (have == n) narrow_int32(tp->int32_data, n, t->dtype, t->data);
    break;
  }
  if (have != n)
    return onyx_error(ONYX_ERR_INVALID_MODEL, "tensor '%s': %s has %zu values, its shape needs %zu", tname,
                      field, have, n);
  return ONYX_OK;
}

onyx_status onnx_load_tensor(const void *data, size_t size, ir_tensor *out)
{
  memset(out, 0, sizeof(*out));
  out->producer = -1;
  ONYX_TRY(wire_check(data, size, &onnx__tensor_proto__descriptor, "the tensor"));
  Onnx__TensorProto *tp = onnx__tensor_proto__unpack(NULL, size, data);
  if (!tp) return onyx_error(ONYX_ERR_PARSE, "not a valid ONNX TensorProto (protobuf decoding failed)");
  onyx_status st = tensor_from_proto(tp, NULL, out);
  if (st == ONYX_OK) {
    out->name = onyx_strdup(tp->name ? tp->name : "");
    if (!out->name) st = ONYX_ERR_NO_MEMORY;
  }
  if (st != ONYX_OK) ir_tensor_clear(out);
  onnx__tensor_proto__free_unpacked(tp, NULL);
  return st;
}

/* ---- attributes ----------------------------------------------------------- */

static onyx_status attr_from_proto(const Onnx__AttributeProto *ap, const char *node_desc, ir_attr *a)
{
  if (!ap->name || !ap->name[0])
    return onyx_error(ONYX_ERR_INVALID_MODEL, "%s: attribute without a name", node_desc);
  if (!(a->name = onyx_strdup(ap->name))) return ONYX_ERR_NO_MEMORY;
  int type = ap->has_type ? (int)ap->type : 0;
  /* ir_version < 2 files may omit the type: infer it from what is set */
  if (type == 0) {
    if (ap->n_ints) type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
    else if (ap->n_floats) type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS;
    else if (ap->t) type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR;
    else if (ap->has_s) type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
    else if (ap->has_f) type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
    else if (ap->has_i) type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
  }
  switch (type) {
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT:
    a->type = IR_ATTR_FLOAT;
    a->f = ap->f;
    break;
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT:
    a->type = IR_ATTR_INT;
    a->i = ap->i;
    break;
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING:
    a->type = IR_ATTR_STRING;
    a->s = onyx_malloc(ap->s.len + 1);
    if (!a->s) return ONYX_ERR_NO_MEMORY;
    if (ap->s.len) memcpy(a->s, ap->s.data, ap->s.len);
    a->s[ap->s.len] = '\0';
    break;
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS:
    a->type = IR_ATTR_INTS;
    a->n = ap->n_ints;
    a->ints = onyx_malloc((ap->n_ints ? ap->n_ints : 1) * sizeof(int64_t));
    if (!a->ints) return ONYX_ERR_NO_MEMORY;
    if (ap->n_ints) memcpy(a->ints, ap->ints, ap->n_ints * sizeof(int64_t));
    break;
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS:
    a->type = IR_ATTR_FLOATS;
    a->n = ap->n_floats;
    a->floats = onyx_malloc((ap->n_floats ? ap->n_floats : 1) * sizeof(float));
    if (!a->floats) return ONYX_ERR_NO_MEMORY;
    if (ap->n_floats) memcpy(a->floats, ap->floats, ap->n_floats * sizeof(float));
    break;
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS:
    a->type = IR_ATTR_STRINGS;
    a->strings = onyx_calloc(ap->n_strings ? ap->n_strings : 1, sizeof(char *));
    if (!a->strings) return ONYX_ERR_NO_MEMORY;
    a->n = ap->n_strings;
    for (size_t i = 0; i < ap->n_strings; i++) {
      if (!(a->strings[i] = onyx_malloc(ap->strings[i].len + 1))) return ONYX_ERR_NO_MEMORY;
      if (ap->strings[i].len) memcpy(a->strings[i], ap->strings[i].data, ap->strings[i].len);
      a->strings[i][ap->strings[i].len] = '\0';
    }
    break;
  case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR: {
    if (!ap->t) return onyx_error(ONYX_ERR_INVALID_MODEL, "%s: tensor attribute '%s' has no tensor", node_desc, ap->name);
    a->type = IR_ATTR_TENSOR;
    if (!(a->t = onyx_calloc(1, sizeof(ir_tensor)))) return ONYX_ERR_NO_MEMORY;
    a->t->producer = -1;
    onyx_status st = tensor_from_proto(ap->t, NULL, a->t);
    if (st != ONYX_OK) return onyx_error_context(st, "%s, attribute '%s'", node_desc, ap->name);
    if (!(a->t->name = onyx_strdup(ap->name))) return ONYX_ERR_NO_MEMORY;
    break;
  }
  default:
    a->type = IR_ATTR_OTHER; /* subgraphs and sparse tensors: no op onyx supports uses them */
    break;
  }
  return ONYX_OK;
}

/* ---- value infos (graph inputs/outputs) ----------------------------------- */

static onyx_status value_info_apply(const Onnx__ValueInfoProto *vi, ir_tensor *t, bool is_input)
{
  const Onnx__TypeProto *tp = vi->type;
  if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type) {
    if (is_input)
      return onyx_error(ONYX_ERR_UNSUPPORTED, "graph input '%s' is not a tensor (sequences and maps are not supported)",
                        t->name);
    return ONYX_OK;
  }
  const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
  if (tt->has_elem_type) {
    if (!onyx_dtype_valid(tt->elem_type) || tt->elem_type == ONYX_DTYPE_STRING)
      return onyx_error(ONYX_ERR_UNSUPPORTED, "graph %s '%s' has unsupported element type %d",
                        is_input ? "input" : "output", t->name, tt->elem_type);
    t->dtype = (onyx_dtype)tt->elem_type;
  }
  if (!tt->shape) return ONYX_OK; /* unknown rank */
  if (tt->shape->n_dim > ONYX_MAX_DIMS)
    return onyx_error(ONYX_ERR_UNSUPPORTED, "graph %s '%s' has rank %zu, more than %d",
                      is_input ? "input" : "output", t->name, tt->shape->n_dim, ONYX_MAX_DIMS);
  t->ndim = (int)tt->shape->n_dim;
  for (size_t i = 0; i < tt->shape->n_dim; i++) {
    const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[i];
    t->dims[i] = -1;
    if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) {
      if (d->dim_value < 0)
        return onyx_error(ONYX_ERR_INVALID_MODEL, "graph input/output '%s' has negative dimension %lld", t->name,
                          (long long)d->dim_value);
      t->dims[i] = d->dim_value;
    } else if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM && d->dim_param) {
      if (!(t->dim_param[i] = onyx_strdup(d->dim_param))) return ONYX_ERR_NO_MEMORY;
    }
  }
  return ONYX_OK;
}

/* ---- graph ------------------------------------------------------------- */

static int64_t opset_for(const ir_graph *g, const char *domain)
{
  const char *d = (domain && strcmp(domain, "ai.onnx") != 0) ? domain : "";
  for (int i = 0; i < g->n_opsets; i++) {
    const char *od = strcmp(g->opsets[i].domain, "ai.onnx") == 0 ? "" : g->opsets[i].domain;
    if (strcmp(od, d) == 0) return g->opsets[i].version;
  }
  return -1;
}

/* metadata_props (e.g. a detector's class names), kept as the model has them. */
static onyx_status load_metadata(const Onnx__ModelProto *mp, ir_graph *g)
{
  if (!mp->n_metadata_props) return ONYX_OK;
  if (mp->n_metadata_props > 100000)
    return onyx_error(ONYX_ERR_PARSE, "the model has %zu metadata properties (more than 100000)", mp->n_metadata_props);
  g->meta_keys = onyx_calloc(mp->n_metadata_props, sizeof(*g->meta_keys));
  g->meta_values = onyx_calloc(mp->n_metadata_props, sizeof(*g->meta_values));
  if (!g->meta_keys || !g->meta_values) return ONYX_ERR_NO_MEMORY;
  for (size_t i = 0; i < mp->n_metadata_props; i++) {
    const Onnx__StringStringEntryProto *e = mp->metadata_props[i];
    g->meta_keys[i] = onyx_strdup(e && e->key ? e->key : "");
    g->meta_values[i] = onyx_strdup(e && e->value ? e->value : "");
    g->n_meta = (int)i + 1; /* ir_graph_free frees what is there */
    if (!g->meta_keys[i] || !g->meta_values[i]) return ONYX_ERR_NO_MEMORY;
  }
  return ONYX_OK;
}

static onyx_status load_opsets(const Onnx__ModelProto *mp, ir_graph *g)
{
  if (mp->n_opset_import == 0)
    return onyx_error(ONYX_ERR_INVALID_MODEL, "the model declares no opset_import");
  if (!(g->opsets = onyx_calloc(mp->n_opset_import, sizeof(ir_opset)))) return ONYX_ERR_NO_MEMORY;
  for (size_t i = 0; i < mp->n_opset_import; i++) {
    const Onnx__OperatorSetIdProto *o = mp->opset_import[i];
    if (!(g->opsets[i].domain = onyx_strdup(o->domain ? o->domain : ""))) return ONYX_ERR_NO_MEMORY;
    g->opsets[i].version = o->has_version ? o->version : 0;
    g->n_opsets++;
  }
  int64_t v = opset_for(g, "");
  if (v >= 0 && (v < 1 || v > MAX_ONNX_OPSET))
    return onyx_error(ONYX_ERR_UNSUPPORTED, "ai.onnx opset %lld is not supported (onyx supports 1 to %d)",
                      (long long)v, MAX_ONNX_OPSET);
  return ONYX_OK;
}

static onyx_status load_node(const Onnx__NodeProto *np, int index, ir_graph *g)
{
  ir_node n;
  memset(&n, 0, sizeof(n));
  onyx_status st = ONYX_OK;
  char desc[256];
  const char *op_type = np->op_type ? np->op_type : "";
  n.domain = onyx_strdup(np->domain ? np->domain : "");
  n.op_type = onyx_strdup(op_type);
  if (np->name && np->name[0]) {
    n.name = onyx_strdup(np->name);
  } else {
    char buf[96];
    snprintf(buf, sizeof(buf), "%.60s_%d", op_type[0] ? op_type : "node", index);
    n.name = onyx_strdup(buf);
  }
  if (!n.domain || !n.op_type || !n.name) {
    st = ONYX_ERR_NO_MEMORY;
    goto fail;
  }
  snprintf(desc, sizeof(desc), "%s node '%s'", n.op_type, n.name);
  if (!op_type[0]) {
    st = onyx_error(ONYX_ERR_INVALID_MODEL, "node %d ('%s') has no op_type", index, n.name);
    goto fail;
  }
  n.opset = opset_for(g, n.domain);
  n.op = op_lookup(n.domain, op_type);
  if (n.op < 0) {
    st = onyx_error(ONYX_ERR_UNSUPPORTED, "%s: op '%s' (domain '%s', opset %lld) is not supported", desc, op_type,
                    n.domain[0] ? n.domain : "ai.onnx", (long long)n.opset);
    goto fail;
  }
  if (n.opset < 0) {
    st = onyx_error(ONYX_ERR_INVALID_MODEL, "%s: the model imports no opset for domain '%s'", desc,
                    n.domain[0] ? n.domain : "ai.onnx");
    goto fail;
  }
  n.n_in = (int)np->n_input;
  n.n_out = (int)np->n_output;
  n.in = onyx_malloc((np->n_input ? np->n_input : 1) * sizeof(int));
  n.out = onyx_malloc((np->n_output ? np->n_output : 1) * sizeof(int));
  n.attrs = onyx_calloc(np->n_attribute ? np->n_attribute : 1, sizeof(ir_attr));
  if (!n.in || !n.out || !n.attrs) {
    st = ONYX_ERR_NO_MEMORY;
    goto fail;
  }
  /* inputs are resolved after all outputs are known (the file need not be sorted) */
  for (int i = 0; i < n.n_in; i++) n.in[i] = -1;
  /* every op onyx supports has a required first output (later ones may be optional) */
  if (n.n_out < 1 || !np->output[0] || !np->output[0][0]) {
    st = onyx_error(ONYX_ERR_INVALID_MODEL, "%s: its first output has no name", desc);
    goto fail;
  }
  for (int i = 0; i < n.n_out; i++) {
    const char *name = np->output[i];
    n.out[i] = -1;
    if (!name || !name[0]) continue; /* omitted optional output */
    int t = ir_find_tensor(g, name);
    if (t >= 0) {
      st = onyx_error(ONYX_ERR_INVALID_MODEL, "%s: output '%s' is already %s", desc, name,
                      g->tensors[t].is_initializer ? "an initializer"
                      : g->tensors[t].producer >= 0 ? "produced by another node"
                                                    : "a graph input");
      goto fail;
    }
    if ((t = ir_add_tensor(g, name)) < 0) {
      st = ONYX_ERR_NO_MEMORY;
      goto fail;
    }
    g->tensors[t].producer = g->n_nodes; /* index this node will get */
    n.out[i] = t;
  }
  for (size_t i = 0; i < np->n_attribute; i++) {
    st = attr_from_proto(np->attribute[i], desc, &n.attrs[i]);
    n.n_attrs = (int)i + 1;
    if (st != ONYX_OK) goto fail;
  }
  if (ir_add_node(g, &n) < 0) {
    st = ONYX_ERR_NO_MEMORY;
    goto fail;
  }
  return ONYX_OK;
fail:
  ir_node_clear(&n);
  return st;
}

static onyx_status resolve_inputs(const Onnx__GraphProto *gp, ir_graph *g)
{
  for (int i = 0; i < g->n_nodes; i++) {
    const Onnx__NodeProto *np = gp->node[i];
    ir_node *n = &g->nodes[i];
    for (int k = 0; k < n->n_in; k++) {
      const char *name = np->input[k];
      if (!name || !name[0]) continue; /* omitted optional input */
      int t = ir_find_tensor(g, name);
      if (t < 0)
        return onyx_error(ONYX_ERR_INVALID_MODEL,
                          "%s node '%s': input '%s' is not produced by any node, initializer or graph input",
                          n->op_type, n->name, name);
      n->in[k] = t;
    }
  }
  return ONYX_OK;
}

static onyx_status load_graph(const Onnx__GraphProto *gp, const char *base_dir, ir_graph *g)
{
  onyx_status st;
  if (gp->n_node > wire_max_nodes()) /* wire_check counted them already; this guards the int casts below */
    return onyx_error(ONYX_ERR_UNSUPPORTED,
                      "the graph has %zu nodes, more than %zu (set ONYX_MAX_NODES to change it)", gp->n_node,
                      wire_max_nodes());
  if (!(g->graph_name = onyx_strdup(gp->name ? gp->name : ""))) return ONYX_ERR_NO_MEMORY;
  /* initializers */
  for (size_t i = 0; i < gp->n_initializer; i++) {
    const Onnx__TensorProto *tp = gp->initializer[i];
    if (!tp->name || !tp->name[0])
      return onyx_error(ONYX_ERR_INVALID_MODEL, "initializer %zu has no name", i);
    int t = ir_add_tensor(g, tp->name);
    if (t < 0) return onyx_error_context(ONYX_ERR_INVALID_MODEL, "initializer %zu", i);
    g->tensors[t].is_initializer = true;
    if ((st = tensor_from_proto(tp, base_dir, &g->tensors[t])) != ONYX_OK)
      return onyx_error_context(st, "initializer '%s'", tp->name);
  }
  /* graph inputs (those also listed as initializers are constants) */
  if (!(g->inputs = onyx_malloc((gp->n_input ? gp->n_input : 1) * sizeof(int)))) return ONYX_ERR_NO_MEMORY;
  for (size_t i = 0; i < gp->n_input; i++) {
    const Onnx__ValueInfoProto *vi = gp->input[i];
    if (!vi->name || !vi->name[0]) return onyx_error(ONYX_ERR_INVALID_MODEL, "graph input %zu has no name", i);
    int t = ir_find_tensor(g, vi->name);
    if (t >= 0 && g->tensors[t].is_initializer) continue;
    if (t >= 0) return onyx_error(ONYX_ERR_INVALID_MODEL, "graph input '%s' is listed twice", vi->name);
    if ((t = ir_add_tensor(g, vi->name)) < 0) return ONYX_ERR_NO_MEMORY;
    if ((st = value_info_apply(vi, &g->tensors[t], true)) != ONYX_OK) return st;
    if (g->tensors[t].dtype == ONYX_DTYPE_UNDEFINED)
      return onyx_error(ONYX_ERR_INVALID_MODEL, "graph input '%s' has no element type", vi->name);
    if (g->tensors[t].ndim < 0)
      return onyx_error(ONYX_ERR_UNSUPPORTED, "graph input '%s' has no shape (its rank must be known)", vi->name);
    g->inputs[g->n_inputs++] = t;
  }
  /* nodes */
  if (!(g->nodes = onyx_calloc(gp->n_node ? gp->n_node : 1, sizeof(ir_node)))) return ONYX_ERR_NO_MEMORY;
  g->cap_nodes = (int)(gp->n_node ? gp->n_node : 1);
  for (size_t i = 0; i < gp->n_node; i++)
    if ((st = load_node(gp->node[i], (int)i, g)) != ONYX_OK) return st;
  if ((st = resolve_inputs(gp, g)) != ONYX_OK) return st;
  /* graph outputs */
  if (gp->n_output == 0) return onyx_error(ONYX_ERR_INVALID_MODEL, "the graph has no outputs");
  if (!(g->outputs = onyx_malloc(gp->n_output * sizeof(int)))) return ONYX_ERR_NO_MEMORY;
  for (size_t i = 0; i < gp->n_output; i++) {
    const Onnx__ValueInfoProto *vi = gp->output[i];
    int t = vi->name ? ir_find_tensor(g, vi->name) : -1;
    if (t < 0)
      return onyx_error(ONYX_ERR_INVALID_MODEL, "graph output '%s' is not produced by any node, initializer or input",
                        vi->name ? vi->name : "");
    /* the declared type is what 'info' shows; prepare() infers the real one */
    if (g->tensors[t].producer >= 0 && (st = value_info_apply(vi, &g->tensors[t], false)) != ONYX_OK) return st;
    g->outputs[g->n_outputs++] = t;
  }
  if ((st = graph_toposort(g)) != ONYX_OK) return st;
  /* attributes */
  for (int i = 0; i < g->n_nodes; i++) {
    ir_node *n = &g->nodes[i];
    if ((st = op_table[n->op].parse(n)) != ONYX_OK) return st;
  }
  return ONYX_OK;
}

onyx_status onnx_load_graph(const void *data, size_t size, const char *base_dir, ir_graph **out)
{
  *out = NULL;
  if (size == 0) return onyx_error(ONYX_ERR_PARSE, "the model is empty (0 bytes)");
  ONYX_TRY(wire_check(data, size, &onnx__model_proto__descriptor, "the model"));
  Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, size, data);
  if (!mp)
    return onyx_error(ONYX_ERR_PARSE, "not a valid ONNX model: protobuf decoding failed (corrupt or truncated file?)");
  onyx_status st = ONYX_OK;
  ir_graph *g = ir_graph_new();
  if (!g) {
    st = ONYX_ERR_NO_MEMORY;
    goto out;
  }
  if (!mp->has_ir_version || mp->ir_version < MIN_IR_VERSION || mp->ir_version > MAX_IR_VERSION) {
    st = onyx_error(mp->has_ir_version ? ONYX_ERR_UNSUPPORTED : ONYX_ERR_PARSE,
                    mp->has_ir_version ? "ONNX ir_version %lld is not supported (onyx reads %d to %d)"
                                       : "not an ONNX model: no ir_version (%lld), expected %d to %d",
                    (long long)mp->ir_version, MIN_IR_VERSION, MAX_IR_VERSION);
    goto out;
  }
  if (!mp->graph) {
    st = onyx_error(ONYX_ERR_INVALID_MODEL, "the model has no graph");
    goto out;
  }
  g->ir_version = mp->ir_version;
  g->producer_name = onyx_strdup(mp->producer_name ? mp->producer_name : "");
  g->producer_version = onyx_strdup(mp->producer_version ? mp->producer_version : "");
  if (!g->producer_name || !g->producer_version) {
    st = ONYX_ERR_NO_MEMORY;
    goto out;
  }
  if ((st = load_opsets(mp, g)) != ONYX_OK) goto out;
  if ((st = load_metadata(mp, g)) != ONYX_OK) goto out;
  st = load_graph(mp->graph, base_dir, g);
out:
  onnx__model_proto__free_unpacked(mp, NULL);
  if (st != ONYX_OK) {
    ir_graph_free(g);
    return st;
  }
  *out = g;
  return ONYX_OK;
}
