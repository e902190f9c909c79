/* The image pipeline as onyx detect and onyx classify use it.  See cli_pipeline.h. */
#include "tools/cli_pipeline.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "tools/cli_util.h"

/* ---- image lists ---------------------------------------------------------------- */

static bool image_name(const char *s)
{
  size_t n = strlen(s);
  static const char *const ext[] = {".jpg", ".jpeg", ".png"};
  for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
    size_t k = strlen(ext[i]);
    if (n > k && !strcasecmp(s + n - k, ext[i])) return true;
  }
  return false;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Appends s (copied) to *v; -1 when out of memory. */
static int push(char ***v, int *n, int *cap, const char *a, const char *b)
{
  if (*n == *cap) {
    int nc = *cap ? 2 * *cap : 16;
    char **p = realloc(*v, sizeof(*p) * (size_t)nc);
    if (!p) return -1;
    *v = p;
    *cap = nc;
  }
  size_t la = strlen(a), lb = b ? strlen(b) : 0;
  char *s = malloc(la + lb + 2);
  if (!s) return -1;
  memcpy(s, a, la);
  if (b) {
    s[la] = '/';
    memcpy(s + la + 1, b, lb + 1);
  } else {
    s[la] = '\0';
  }
  (*v)[(*n)++] = s;
  return 0;
}

int cli_images_expand(const char *const *args, int n, char ***out, int *n_out)
{
  char **v = NULL;
  int cnt = 0, cap = 0;
  for (int i = 0; i < n; i++) {
    struct stat sb;
    if (stat(args[i], &sb) != 0 || !S_ISDIR(sb.st_mode)) { /* a file (or not there: reported when read) */
      if (push(&v, &cnt, &cap, args[i], NULL)) goto no_mem;
      continue;
    }
    DIR *d = opendir(args[i]);
    if (!d) {
      cli_error("cannot read the folder '%s': %s", args[i], strerror(errno));
      cli_images_free(v, cnt);
      return 1;
    }
    int first = cnt;
    size_t la = strlen(args[i]);
    char *dir = strdup(args[i]);
    if (!dir) {
      closedir(d);
      goto no_mem;
    }
    while (la > 1 && dir[la - 1] == '/') dir[--la] = '\0';
    for (struct dirent *de; (de = readdir(d));) {
      if (de->d_name[0] == '.' || !image_name(de->d_name)) continue;
      if (push(&v, &cnt, &cap, dir, de->d_name)) {
        free(dir);
        closedir(d);
        goto no_mem;
      }
    }
    free(dir);
    closedir(d);
    if (cnt == first) fprintf(stderr, "onyx: warning: no .jpg, .jpeg or .png file in '%s'\n", args[i]);
    qsort(v + first, (size_t)(cnt - first), sizeof(*v), cmp_str);
  }
  *out = v;
  *n_out = cnt;
  return 0;
no_mem:
  cli_images_free(v, cnt);
  cli_error("out of memory");
  return 1;
}

void cli_images_free(char **images, int n)
{
  for (int i = 0; i < n; i++) free(images[i]);
  free(images);
}

/* ---- names ---------------------------------------------------------------------- */

void cli_names_free(cli_names *nm)
{
  for (int i = 0; i < nm->n; i++) free(nm->name[i]);
  free(nm->name);
  memset(nm, 0, sizeof(*nm));
}

int cli_names_load(const char *path, cli_names *nm)
{
  void *data;
  size_t size;
  memset(nm, 0, sizeof(*nm));
  if (onyx_read_file(path, 64u << 20, &data, &size) != ONYX_OK) {
    cli_error("%s", onyx_last_error());
    return 1;
  }
  const char *p = data, *end = p + size;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
    if (len && p[len - 1] == '\r') len--;
    char **v = realloc(nm->name, sizeof(*v) * (size_t)(nm->n + 1));
    char *s = v ? malloc(len + 1) : NULL;
    if (v) nm->name = v;
    if (!s) {
      free(data);
      cli_names_free(nm);
      cli_error("out of memory");
      return 1;
    }
    memcpy(s, p, len);
    s[len] = '\0';
    nm->name[nm->n++] = s;
    p = nl ? nl + 1 : end;
  }
  free(data);
  return 0;
}

/* ---- the pipeline ------------------------------------------------------------------ */

static bool ends_with(const char *s, const char *suffix)
{
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && !strcmp(s + n - k, suffix);
}

void cli_pipe_close(cli_pipe *cp)
{
  onyx_pipeline_free(cp->p);
  onyx_engine_free(cp->e);
  onyx_model_free(cp->m);
  memset(cp, 0, sizeof(*cp));
}

/* An FP32 (or FP16) engine for the model's input: symbolic batch 1..batch (opt batch),
 * symbolic height/width the default side. */
static onyx_status build_engine(cli_pipe *cp, int batch, int side, bool fp16)
{
  onyx_tensor_info in;
  ONYX_TRY(onyx_model_input(cp->m, 0, &in));
  if (onyx_model_num_inputs(cp->m) != 1 || in.ndim != 4) /* the pipeline names the problem */
    return onyx_engine_build(cp->m, NULL, &cp->e);
  onyx_shape_range r = {.name = in.name, .ndim = 4};
  for (int d = 0; d < 4; d++) {
    int64_t v = in.dims[d] > 0 ? in.dims[d] : d == 0 ? batch : d == 1 ? 3 : side;
    r.min[d] = d == 0 && in.dims[0] <= 0 ? 1 : v;
    r.opt[d] = r.max[d] = v;
  }
  onyx_build_options bo;
  onyx_build_options_init(&bo);
  bo.precision = fp16 ? ONYX_PRECISION_FP16 : ONYX_PRECISION_FP32;
  bo.n_shapes = 1;
  bo.shapes = &r;
  return onyx_engine_build(cp->m, &bo, &cp->e);
}

int cli_pipe_open(cli_pipe *cp, const char *path, const cli_pipe_args *a, onyx_pipeline_options *o)
{
  memset(cp, 0, sizeof(*cp));
  onyx_status st;
  bool cpu = a->cpu;
  int batch = a->batch, default_side = a->default_side;
  if (a->fp16 && (cpu || !onyx_cuda_available() || ends_with(path, ".engine"))) {
    cli_error("--fp16 builds an FP16 engine from an ONNX model on the GPU; %s",
              ends_with(path, ".engine") ? "an engine file keeps the precision it was built with"
              : cpu                      ? "--cpu runs FP32 on the CPU"
                                         : "there is no GPU here");
    return 1;
  }
  if (ends_with(path, ".engine")) {
    if (cpu) {
      cli_error("--cpu: '%s' is an engine file, which runs on the GPU only", path);
      return 1;
    }
    o->max_batch = batch;
    st = onyx_engine_load(path, &cp->e);
    if (st == ONYX_OK) st = onyx_pipeline_create(cp->e, o, &cp->p);
  } else {
    st = onyx_model_load(path, &cp->m);
    onyx_tensor_info in;
    if (st == ONYX_OK && onyx_model_num_inputs(cp->m) == 1 && onyx_model_input(cp->m, 0, &in) == ONYX_OK &&
        in.ndim == 4) {
      if (in.dims[0] > 0 && batch && batch != in.dims[0]) {
        cli_error("--batch %d: the batch of '%s' is fixed at %lld", batch, path, (long long)in.dims[0]);
        cli_pipe_close(cp);
        return 1;
      }
      if (in.dims[2] <= 0 || in.dims[3] <= 0) o->input_w = o->input_h = default_side;
    }
    if (st == ONYX_OK && !cpu && onyx_cuda_available()) {
      st = build_engine(cp, batch ? batch : 1, default_side, a->fp16);
      if (st == ONYX_OK) st = onyx_pipeline_create(cp->e, o, &cp->p);
    } else if (st == ONYX_OK) {
      o->max_batch = batch;
      st = onyx_pipeline_create_cpu(cp->m, o, &cp->p);
    }
  }
  if (st == ONYX_OK) st = onyx_pipeline_info_get(cp->p, &cp->info);
  if (st != ONYX_OK) {
    cli_error("%s", onyx_last_error());
    cli_pipe_close(cp);
    return 1;
  }
  return 0;
}

static double now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void progress(int done, int n, double t0, bool last)
{
  char bar[31];
  int w = (int)((int64_t)done * 30 / n);
  for (int i = 0; i < 30; i++) bar[i] = i < w ? '=' : i == w ? '>' : ' ';
  bar[30] = '\0';
  double s = (now_ms() - t0) / 1e3;
  fprintf(stderr, "\r[%s] %d/%d  %.1f images/s", bar, done, n, s > 0 ? done / s : 0.0);
  if (last) fprintf(stderr, "\r%*s\r", 70, "");
  fflush(stderr);
}

static void add_times(onyx_stage_times *a, const onyx_stage_times *b)
{
  a->decode += b->decode;
  a->preprocess += b->preprocess;
  a->h2d += b->h2d;
  a->inference += b->inference;
  a->d2h += b->d2h;
  a->postprocess += b->postprocess;
}

/* Takes one result (waiting) and hands it on. */
static int take(cli_pipe *cp, cli_pipe_fn fn, void *ctx, cli_pipe_stats *st)
{
  onyx_pipeline_result r;
  int got;
  if (onyx_pipeline_next(cp->p, 1, &r, &got) != ONYX_OK || !got) {
    cli_error("%s", got ? onyx_last_error() : "the pipeline returned no result");
    return -1;
  }
  if (r.status == ONYX_OK) {
    st->n_ok++;
    add_times(&st->sum, &r.times);
  } else {
    st->n_bad++;
  }
  fn(ctx, (int)(intptr_t)r.tag, &r);
  return 0;
}

int cli_pipe_run(cli_pipe *cp, char *const *images, int n, cli_pipe_fn fn, void *ctx, cli_pipe_stats *st)
{
  memset(st, 0, sizeof(*st));
  bool bar = n > 1 && isatty(STDERR_FILENO);
  /* submitted in whole batches, at most `window` ahead of the results, so that
   * only the last batch can be partial and memory stays bounded */
  int mb = cp->info.max_batch, window = 4 * mb < 16 ? ((16 + mb - 1) / mb) * mb : 4 * mb;
  double t0 = now_ms(), last_bar = 0;
  int submitted = 0, done = 0;
  while (done < n) {
    while (submitted < n && submitted - done + mb <= window) {
      for (int k = 0; k < mb && submitted < n; k++, submitted++)
        if (onyx_pipeline_submit_file(cp->p, images[submitted], (void *)(intptr_t)submitted) != ONYX_OK) {
          cli_error("%s", onyx_last_error());
          return 1;
        }
    }
    if (submitted == n) onyx_pipeline_flush(cp->p);
    if (take(cp, fn, ctx, st)) return 1;
    done++;
    if (bar && (now_ms() - last_bar > 100 || done == n)) {
      progress(done, n, t0, done == n);
      last_bar = now_ms();
    }
  }
  st->wall_ms = now_ms() - t0;
  return 0;
}

void cli_pipe_print_stats(FILE *f, const cli_pipe *cp, const cli_pipe_stats *st)
{
  int k = st->n_ok ? st->n_ok : 1;
  const onyx_stage_times *s = &st->sum;
  fprintf(f, "%d image%s in %.2f s (%d failed): %.1f images/s on the %s, batches of up to %d\n",
          st->n_ok + st->n_bad, st->n_ok + st->n_bad == 1 ? "" : "s", st->wall_ms / 1e3, st->n_bad,
          st->wall_ms > 0 ? st->n_ok / (st->wall_ms / 1e3) : 0.0, cp->info.on_gpu ? "GPU" : "CPU",
          cp->info.max_batch);
  fprintf(f, "per image (ms, mean): decode %.2f, preprocess %.2f, H2D %.3f, inference %.2f, D2H %.3f, "
             "postprocess %.3f\n",
          s->decode / k, s->preprocess / k, s->h2d / k, s->inference / k, s->d2h / k, s->postprocess / k);
}
