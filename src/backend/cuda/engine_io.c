/* Engine files and timing-cache files.
 *
 * An engine file (src/engine/format.h container) holds the model's graph and
 * weights (src/engine/graph_io.h: stored once), the options and input shape
 * ranges, the tactic cache timed at build, and the layer list for `onyx info`.
 * Loading re-derives the optimised graph from the stored model graph (the
 * passes are deterministic and fast); the expensive parts, timing and the
 * NVRTC compilation of generated kernels (their cubins: section "cubins",
 * optional so that files written before it still load), are what the file
 * keeps. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cuda/engine.h"
#include "common/util.h"
#include "engine/graph_io.h"

#define MAX_LAYERS 1000000u

onyx_status engine_copy_graph(const ir_graph *src, ir_graph **out)
{
  eng_writer gw, ww;
  eng_writer_init(&gw);
  eng_writer_init(&ww);
  onyx_status st = eng_graph_write(src, &gw, &ww);
  if (st == ONYX_OK) st = eng_graph_read(gw.data, gw.size, ww.data, ww.size, out);
  eng_writer_free(&gw);
  eng_writer_free(&ww);
  return st;
}

static void write_options(const onyx_engine *e, eng_writer *w)
{
  eng_put_u32(w, (uint32_t)e->precision);
  eng_put_u64(w, e->workspace);
  eng_put_u32(w, (uint32_t)e->opt_level);
  eng_put_u32(w, (uint32_t)e->n_inputs);
  for (int i = 0; i < e->n_inputs; i++) {
    const engine_input *in = &e->inputs[i];
    eng_put_u32(w, (uint32_t)in->ndim);
    for (int d = 0; d < in->ndim; d++) {
      eng_put_i64(w, in->min[d]);
      eng_put_i64(w, in->opt[d]);
      eng_put_i64(w, in->max[d]);
    }
  }
}

static onyx_status read_options(onyx_engine *e, eng_reader *r)
{
  uint32_t prec, level, n;
  uint64_t ws;
  ONYX_TRY(eng_get_u32(r, "precision", &prec));
  ONYX_TRY(eng_get_u64(r, "workspace", &ws));
  ONYX_TRY(eng_get_u32(r, "opt level", &level));
  ONYX_TRY(eng_get_u32(r, "input count", &n));
  if (prec >= ONYX_PRECISION_COUNT || level > 3)
    return onyx_error(ONYX_ERR_PARSE, "engine options: precision %u or opt level %u out of range", prec, level);
  if ((int)n != e->model->n_inputs)
    return onyx_error(ONYX_ERR_PARSE, "engine options describe %u inputs, its graph has %d", n, e->model->n_inputs);
  e->precision = (onyx_precision)prec;
  e->workspace = (size_t)ws;
  e->opt_level = (int)level;
  for (int i = 0; i < e->n_inputs; i++) {
    engine_input *in = &e->inputs[i];
    uint32_t nd;
    in->tensor = e->model->inputs[i];
    ONYX_TRY(eng_get_u32(r, "input rank", &nd));
    if ((int)nd != e->model->tensors[in->tensor].ndim)
      return onyx_error(ONYX_ERR_PARSE, "engine options: input %d has rank %u, its graph says %d", i, nd,
                        e->model->tensors[in->tensor].ndim);
    in->ndim = (int)nd;
    for (uint32_t d = 0; d < nd; d++) {
      ONYX_TRY(eng_get_i64(r, "input min", &in->min[d]));
      ONYX_TRY(eng_get_i64(r, "input opt", &in->opt[d]));
      ONYX_TRY(eng_get_i64(r, "input max", &in->max[d]));
      if (!(in->min[d] >= 0 && in->min[d] <= in->opt[d] && in->opt[d] <= in->max[d]))
        return onyx_error(ONYX_ERR_PARSE, "engine options: input %d dimension %u has an invalid range", i, d);
    }
  }
  return ONYX_OK;
}

static void write_layers(const onyx_engine *e, eng_writer *w)
{
  eng_put_u32(w, (uint32_t)e->n_layers);
  for (int i = 0; i < e->n_layers; i++) {
    eng_put_string(w, e->layers[i].name);
    eng_put_string(w, e->layers[i].op_type);
    eng_put_string(w, e->layers[i].kernel);
    eng_put_i64(w, e->layers[i].tactic);
  }
  eng_put_u64(w, e->memory.weight_bytes);
  eng_put_u64(w, e->memory.activation_bytes);
  eng_put_u64(w, e->memory.workspace_bytes);
}

static onyx_status read_layers(onyx_engine *e, eng_reader *r)
{
  uint32_t n;
  ONYX_TRY(eng_get_count(r, "layer count", 3 * 4 + 8, MAX_LAYERS, &n));
  e->layers = onyx_calloc(n ? n : 1, sizeof(engine_layer));
  if (!e->layers) return ONYX_ERR_NO_MEMORY;
  for (uint32_t i = 0; i < n; i++) {
    engine_layer *l = &e->layers[e->n_layers++];
    ONYX_TRY(eng_get_string_alloc(r, "layer name", 1 << 20, &l->name));
    ONYX_TRY(eng_get_string_alloc(r, "layer op", 256, &l->op_type));
    ONYX_TRY(eng_get_string_alloc(r, "layer kernel", 256, &l->kernel));
    ONYX_TRY(eng_get_i64(r, "layer tactic", &l->tactic));
  }
  uint64_t wb, ab, ws;
  ONYX_TRY(eng_get_u64(r, "weight bytes", &wb));
  ONYX_TRY(eng_get_u64(r, "activation bytes", &ab));
  ONYX_TRY(eng_get_u64(r, "workspace bytes", &ws));
  e->memory = (onyx_engine_memory){(size_t)wb, (size_t)ab, (size_t)ws};
  return ONYX_OK;
}

/* Adds a writer's bytes as a section (taking them). */
static onyx_status add_section(eng_file_writer *f, uint32_t id, eng_writer *w)
{
  ONYX_TRY(eng_writer_status(w));
  size_t size;
  uint8_t *data = eng_writer_take(w, &size);
  return eng_file_writer_add_owned(f, id, data, size);
}

onyx_status onyx_engine_save(const onyx_engine *e, const char *path)
{
  if (!e || !path) return onyx_error(ONYX_ERR_INVALID_ARG, "onyx_engine_save: NULL argument");
  eng_file_writer f;
  eng_writer gw, ww, ow, tw, lw, cw;
  eng_file_writer_init(&f, &e->fp);
  eng_writer_init(&gw);
  eng_writer_init(&ww);
  eng_writer_init(&ow);
  eng_writer_init(&tw);
  eng_writer_init(&lw);
  eng_writer_init(&cw);
  onyx_status st = eng_graph_write(e->model, &gw, &ww);
  write_options(e, &ow);
  write_layers(e, &lw);
  if (st == ONYX_OK) st = tactic_cache_write(&e->tactics, &tw);
  if (st == ONYX_OK) st = artifact_cache_write(&e->artifacts, &cw);
  if (st == ONYX_OK) st = add_section(&f, ENG_SECTION_TENSORS, &gw);
  if (st == ONYX_OK) st = add_section(&f, ENG_SECTION_WEIGHTS, &ww);
  if (st == ONYX_OK) st = add_section(&f, ENG_SECTION_OPTIONS, &ow);
  if (st == ONYX_OK) st = add_section(&f, ENG_SECTION_TACTICS, &tw);
  if (st == ONYX_OK) st = add_section(&f, ENG_SECTION_LAYERS, &lw);
  if (st == ONYX_OK) st = add_section(&f, ENG_SECTION_CUBINS, &cw);
  if (st == ONYX_OK) st = eng_file_writer_write(&f, path);
  eng_writer_free(&gw);
  eng_writer_free(&ww);
  eng_writer_free(&ow);
  eng_writer_free(&tw);
  eng_writer_free(&lw);
  eng_writer_free(&cw);
  eng_file_writer_free(&f);
  return st == ONYX_OK ? ONYX_OK : onyx_error_context(st, "saving engine '%s'", path);
}

static onyx_status section_reader(const eng_file *f, uint32_t id, eng_reader *r)
{
  const uint8_t *p;
  size_t n;
  ONYX_TRY(eng_file_section(f, id, &p, &n));
  eng_reader_init(r, p, n);
  return ONYX_OK;
}

/* The optional cubins section into c (the whole section must be read). */
static onyx_status read_cubins(const eng_file *f, artifact_cache *c)
{
  if (!eng_file_has_section(f, ENG_SECTION_CUBINS)) return ONYX_OK;
  eng_reader r;
  ONYX_TRY(section_reader(f, ENG_SECTION_CUBINS, &r));
  ONYX_TRY(artifact_cache_read(c, &r));
  if (eng_reader_left(&r))
    return onyx_error(ONYX_ERR_PARSE, "cubins section: %zu trailing bytes", eng_reader_left(&r));
  return ONYX_OK;
}

/* Reads an engine file; check_system: refuse one built for another GPU or library. */
static onyx_status engine_load(const char *path, bool check_system, onyx_engine **out)
{
  eng_file *f = NULL;
  onyx_engine *e = NULL;
  ir_graph *g = NULL;
  onyx_status st = eng_file_load(path, &f);
  if (st != ONYX_OK) return st;
  if (check_system) {
    eng_fingerprint here;
    if ((st = engine_fingerprint_here(&here)) != ONYX_OK) goto out;
    if ((st = eng_fingerprint_check(&f->fp, &here)) != ONYX_OK) goto out;
  }
  const uint8_t *gp, *wp;
  size_t gn, wn;
  if ((st = eng_file_section(f, ENG_SECTION_TENSORS, &gp, &gn)) != ONYX_OK ||
      (st = eng_file_section(f, ENG_SECTION_WEIGHTS, &wp, &wn)) != ONYX_OK ||
      (st = eng_graph_read(gp, gn, wp, wn, &g)) != ONYX_OK)
    goto out;
  /* A model graph as onyx saves it has values only on initializers and
   * Constant attributes; anything else would bypass shape inference. */
  for (int t = 0; t < g->n_tensors; t++)
    if (g->tensors[t].data && !g->tensors[t].is_initializer) {
      st = onyx_error(ONYX_ERR_PARSE, "engine graph: tensor '%s' carries a value but is not an initializer",
                      g->tensors[t].name);
      ir_graph_free(g);
      goto out;
    }
  if ((st = engine_new(g, &e)) != ONYX_OK) goto out; /* takes g */
  e->fp = f->fp;
  engine_describe_target(e);
  eng_reader r;
  if ((st = section_reader(f, ENG_SECTION_OPTIONS, &r)) != ONYX_OK || (st = read_options(e, &r)) != ONYX_OK ||
      (st = section_reader(f, ENG_SECTION_TACTICS, &r)) != ONYX_OK ||
      (st = tactic_cache_read(&e->tactics, &r)) != ONYX_OK ||
      (st = section_reader(f, ENG_SECTION_LAYERS, &r)) != ONYX_OK || (st = read_layers(e, &r)) != ONYX_OK ||
      (st = read_cubins(f, &e->artifacts)) != ONYX_OK)
    goto out;
out:
  eng_file_free(f);
  if (st != ONYX_OK) {
    onyx_engine_free(e);
    return onyx_error_context(st, "engine '%s'", path);
  }
  *out = e;
  return ONYX_OK;
}

onyx_status onyx_engine_load(const char *path, onyx_engine **out)
{
  if (!path || !out) return onyx_error(ONYX_ERR_INVALID_ARG, "onyx_engine_load: NULL argument");
  *out = NULL;
  if (!onyx_cuda_available()) return onyx_error(ONYX_ERR_UNSUPPORTED, "running an engine needs a CUDA GPU; none is available");
  engine_device_lock(); /* it sets up the layers' tactics on the device */
  onyx_status st = engine_load(path, true, out);
  engine_device_unlock();
  return st;
}

onyx_status onyx_engine_inspect(const char *path, onyx_engine **out)
{
  if (!path || !out) return onyx_error(ONYX_ERR_INVALID_ARG, "onyx_engine_inspect: NULL argument");
  *out = NULL;
  ONYX_TRY(engine_load(path, false, out));
  (*out)->inspect_only = true;
  return ONYX_OK;
}

/* ---- timing cache files: the same container with TACTICS and CUBINS sections */

onyx_status engine_timing_cache_load(onyx_engine *e, const char *path)
{
  FILE *probe = fopen(path, "rb");
  if (!probe) return ONYX_OK; /* first build: nothing cached yet */
  fclose(probe);
  eng_file *f;
  ONYX_TRY(eng_file_load(path, &f));
  onyx_status st = eng_fingerprint_check(&f->fp, &e->fp);
  eng_reader r;
  if (st == ONYX_OK) st = section_reader(f, ENG_SECTION_TACTICS, &r);
  if (st == ONYX_OK) st = tactic_cache_read(&e->tactics, &r);
  if (st == ONYX_OK) st = read_cubins(f, &e->artifacts);
  eng_file_free(f);
  return st == ONYX_OK ? ONYX_OK : onyx_error_context(st, "timing cache '%s'", path);
}

onyx_status engine_timing_cache_save(const onyx_engine *e, const char *path)
{
  eng_file_writer f;
  eng_writer tw, cw;
  eng_file_writer_init(&f, &e->fp);
  eng_writer_init(&tw);
  eng_writer_init(&cw);
  onyx_status st = tactic_cache_write(&e->tactics, &tw);
  if (st == ONYX_OK) st = artifact_cache_write(&e->artifacts, &cw);
  if (st == ONYX_OK) st = add_section(&f, ENG_SECTION_TACTICS, &tw);
  if (st == ONYX_OK) st = add_section(&f, ENG_SECTION_CUBINS, &cw);
  if (st == ONYX_OK) st = eng_file_writer_write(&f, path);
  eng_writer_free(&tw);
  eng_writer_free(&cw);
  eng_file_writer_free(&f);
  return st == ONYX_OK ? ONYX_OK : onyx_error_context(st, "saving timing cache '%s'", path);
}
