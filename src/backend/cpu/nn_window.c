/* Helpers shared by the CPU kernels of the nn family. */
#include "backend/cpu/nn_window.h"

#include <omp.h>

onyx_status cpu_nn_win3(const ir_node *n, const nn_geom *gm, bool transpose, cpu_win3 *w)
{
  if (gm->nsp > 3)
    return op_error(n, ONYX_ERR_UNSUPPORTED, "%d spatial dims are not supported on CPU (at most 3)", gm->nsp);
  int lead = 3 - gm->nsp;
  for (int i = 0; i < 3; i++) {
    int j = i - lead;
    w->img[i] = j < 0 ? 1 : transpose ? gm->out[j] : gm->in[j];
    w->pos[i] = j < 0 ? 1 : transpose ? gm->in[j] : gm->out[j];
    w->k[i] = j < 0 ? 1 : gm->kernel[j];
    w->s[i] = j < 0 ? 1 : gm->strides[j];
    w->d[i] = j < 0 ? 1 : gm->dilations[j];
    w->p[i] = j < 0 ? 0 : gm->pad_begin[j];
  }
  return ONYX_OK;
}

void cpu_nn_valid_range(int64_t off, int64_t s, int64_t size, int64_t npos, int64_t *lo, int64_t *hi)
{
  int64_t l = off >= 0 ? 0 : (-off + s - 1) / s;
  int64_t h = size - 1 - off >= 0 ? (size - 1 - off) / s + 1 : 0;
  if (l > npos) l = npos;
  if (h > npos) h = npos;
  if (h < l) h = l;
  *lo = l, *hi = h;
}

int cpu_nn_threads(const cpu_ctx *ctx) { return ctx->num_threads > 0 ? ctx->num_threads : omp_get_max_threads(); }

onyx_status cpu_nn_need_float(const ir_node *n, const ir_tensor *t)
{
  if (t->dtype != ONYX_DTYPE_FLOAT)
    return op_error(n, ONYX_ERR_UNSUPPORTED, "%s input is not supported on CPU (float32 only)",
                    onyx_dtype_name(t->dtype));
  return ONYX_OK;
}
