/* Sliding-window attributes (kernel_shape, strides, dilations, pads, auto_pad)
 * shared by Conv, ConvTranspose and the pools, and their resolution against
 * an input shape. */
#include <string.h>

#include "common/util.h"
#include "graph/prepare.h"
#include "ops/nn.h"

static onyx_status parse_ints(ir_node *n, const char *name, int64_t *out, int cap, int64_t min, int *count)
{
  const ir_attr *a = ir_attr_find(n, name);
  *count = -1;
  if (!a) return ONYX_OK;
  if (a->type != IR_ATTR_INTS && a->type != IR_ATTR_INT)
    return op_error(n, ONYX_ERR_INVALID_MODEL, "attribute '%s' must be a list of ints", name);
  int cnt = ir_attr_ints(n, name, out, cap);
  if (cnt > cap)
    return op_error(n, ONYX_ERR_UNSUPPORTED, "attribute '%s' has %d values, at most %d supported", name, cnt,
                    cap);
  for (int i = 0; i < cnt; i++) {
    if (out[i] < min)
      return op_error(n, ONYX_ERR_INVALID_MODEL,
                      "attribute '%s' has value %lld at index %d (must be >= %lld)", name, (long long)out[i],
                      i, (long long)min);
    if (out[i] > NN_MAX_WINDOW_VALUE)
      return op_error(n, ONYX_ERR_UNSUPPORTED, "attribute '%s' has value %lld at index %d (at most %d supported)",
                      name, (long long)out[i], i, NN_MAX_WINDOW_VALUE);
  }
  *count = cnt;
  return ONYX_OK;
}

onyx_status nn_parse_window(ir_node *n, nn_window *w)
{
  ONYX_TRY(parse_ints(n, "kernel_shape", w->kernel, NN_MAX_SP, 1, &w->n_kernel));
  ONYX_TRY(parse_ints(n, "strides", w->strides, NN_MAX_SP, 1, &w->n_strides));
  ONYX_TRY(parse_ints(n, "dilations", w->dilations, NN_MAX_SP, 1, &w->n_dilations));
  ONYX_TRY(parse_ints(n, "pads", w->pads, 2 * NN_MAX_SP, 0, &w->n_pads));
  if (w->n_pads >= 0 && w->n_pads % 2)
    return op_error(n, ONYX_ERR_INVALID_MODEL,
                    "attribute 'pads' has %d values (must be even: begins, then ends)", w->n_pads);
  const char *ap = ir_attr_string(n, "auto_pad", "NOTSET");
  if (!strcmp(ap, "NOTSET") || !ap[0])
    w->auto_pad = NN_PAD_NOTSET;
  else if (!strcmp(ap, "SAME_UPPER"))
    w->auto_pad = NN_PAD_SAME_UPPER;
  else if (!strcmp(ap, "SAME_LOWER"))
    w->auto_pad = NN_PAD_SAME_LOWER;
  else if (!strcmp(ap, "VALID"))
    w->auto_pad = NN_PAD_VALID;
  else
    return op_error(n, ONYX_ERR_INVALID_MODEL, "auto_pad '%s' is not NOTSET, SAME_UPPER, SAME_LOWER or VALID",
                    ap);
  /* lengths that disagree with each other are wrong whatever the input rank */
  int ref = w->n_kernel >= 0 ? w->n_kernel : w->n_strides >= 0 ? w->n_strides : w->n_dilations;
  if (ref >= 0) {
    if ((w->n_strides >= 0 && w->n_strides != ref) || (w->n_dilations >= 0 && w->n_dilations != ref) ||
        (w->n_pads >= 0 && w->n_pads != 2 * ref))
      return op_error(n, ONYX_ERR_INVALID_MODEL,
                      "kernel_shape/strides/dilations/pads lengths disagree (%d, %d, %d, %d values)",
                      w->n_kernel, w->n_strides, w->n_dilations, w->n_pads);
  }
  return ONYX_OK;
}

/* Checks that attribute lengths fit nsp spatial dims. */
static onyx_status check_lengths(const ir_node *n, const nn_window *w, int nsp)
{
  if (w->n_kernel >= 0 && w->n_kernel != nsp)
    return op_error(n, ONYX_ERR_SHAPE, "kernel_shape has %d values but the input has %d spatial dims",
                    w->n_kernel, nsp);
  if (w->n_strides >= 0 && w->n_strides != nsp)
    return op_error(n, ONYX_ERR_SHAPE, "strides has %d values but the input has %d spatial dims",
                    w->n_strides, nsp);
  if (w->n_dilations >= 0 && w->n_dilations != nsp)
    return op_error(n, ONYX_ERR_SHAPE, "dilations has %d values but the input has %d spatial dims",
                    w->n_dilations, nsp);
  if (w->n_pads >= 0 && w->n_pads != 2 * nsp)
    return op_error(n, ONYX_ERR_SHAPE, "pads has %d values but the input has %d spatial dims (needs %d)",
                    w->n_pads, nsp, 2 * nsp);
  return ONYX_OK;
}

static onyx_status check_input(const ir_node *n, const ir_tensor *x)
{
  if (x->ndim < 3)
    return op_error(n, ONYX_ERR_SHAPE, "input must be N x C x D1 x ... (rank >= 3), got rank %d", x->ndim);
  if (x->ndim - 2 > NN_MAX_SP)
    return op_error(n, ONYX_ERR_UNSUPPORTED, "input rank %d is more than supported", x->ndim);
  return ONYX_OK;
}

/* Forward (Conv and pool) output sizes and pads from the window, with the
 * kernel sizes already known. */
static onyx_status resolve_forward(const ir_node *n, const nn_window *w, const ir_tensor *x,
                                   const int64_t *kernel, bool ceil_mode, bool pads_below_kernel, nn_geom *g)
{
  int nsp = x->ndim - 2;
  ONYX_TRY(check_lengths(n, w, nsp));
  g->nsp = nsp;
  for (int i = 0; i < nsp; i++) {
    int64_t in = x->dims[i + 2], k = kernel[i];
    int64_t s = w->n_strides >= 0 ? w->strides[i] : 1, d = w->n_dilations >= 0 ? w->dilations[i] : 1;
    int64_t ek = (k - 1) * d + 1, pb = 0, pe = 0, out;
    g->in[i] = in, g->kernel[i] = k, g->strides[i] = s, g->dilations[i] = d;
    switch (w->auto_pad) {
    case NN_PAD_SAME_UPPER:
    case NN_PAD_SAME_LOWER: {
      out = (in + s - 1) / s;
      int64_t total = (out - 1) * s + ek - in;
      if (total < 0) total = 0;
      if (w->auto_pad == NN_PAD_SAME_UPPER)
        pb = total / 2, pe = total - pb;
      else
        pe = total / 2, pb = total - pe;
      break;
    }
    default: {
      /* explicit pads are ignored with VALID (as with SAME): auto_pad says what the writer meant */
      if (w->auto_pad == NN_PAD_NOTSET && w->n_pads >= 0) pb = w->pads[i], pe = w->pads[i + nsp];
      if (pads_below_kernel && (pb >= ek || pe >= ek))
        return op_error(n, ONYX_ERR_INVALID_MODEL,
                        "pads (%lld, %lld) on spatial dim %d must be smaller than the kernel extent %lld",
                        (long long)pb, (long long)pe, i, (long long)ek);
      int64_t span = in + pb + pe - ek;
      if (span < 0)
        return op_error(
            n, ONYX_ERR_SHAPE,
            "kernel extent %lld is larger than the padded input (%lld + %lld + %lld) on spatial dim %d",
            (long long)ek, (long long)in, (long long)pb, (long long)pe, i);
      if (ceil_mode) {
        out = (span + s - 1) / s + 1;
        if ((out - 1) * s >= in + pb) out--; /* the last window must start inside input or begin pad */
      } else {
        out = span / s + 1;
      }
    }
    }
    g->out[i] = out, g->pad_begin[i] = pb, g->pad_end[i] = pe;
  }
  return ONYX_OK;
}

onyx_status nn_conv_geom(const ir_node *n, const ir_tensor *x, const ir_tensor *w, nn_geom *g)
{
  const nn_conv_params *p = n->params;
  ONYX_TRY(check_input(n, x));
  char sx[160], sw[160];
  onyx_dims_str(x->ndim, x->dims, sx, sizeof(sx));
  onyx_dims_str(w->ndim, w->dims, sw, sizeof(sw));
  if (w->ndim != x->ndim)
    return op_error(n, ONYX_ERR_SHAPE, "weight shape %s does not match input shape %s (ranks differ)", sw,
                    sx);
  int64_t c = x->dims[1], m = w->dims[0];
  if (c % p->group)
    return op_error(n, ONYX_ERR_SHAPE, "group %lld does not divide the %lld input channels",
                    (long long)p->group, (long long)c);
  if (m % p->group)
    return op_error(n, ONYX_ERR_SHAPE, "group %lld does not divide the %lld output channels (weight %s)",
                    (long long)p->group, (long long)m, sw);
  if (w->dims[1] != c / p->group)
    return op_error(n, ONYX_ERR_SHAPE, "weight %s needs %lld input channels per group, the input %s has %lld",
                    sw, (long long)w->dims[1], sx, (long long)(c / p->group));
  for (int i = 2; i < w->ndim; i++) {
    if (w->dims[i] < 1) return op_error(n, ONYX_ERR_SHAPE, "weight %s has an empty kernel dimension", sw);
    if (p->win.n_kernel >= 0 && p->win.n_kernel == w->ndim - 2 && p->win.kernel[i - 2] != w->dims[i])
      return op_error(n, ONYX_ERR_SHAPE, "kernel_shape disagrees with the weight shape %s", sw);
  }
  return resolve_forward(n, &p->win, x, w->dims + 2, false, false, g);
}

onyx_status nn_conv_transpose_geom(const ir_node *n, const ir_tensor *x, const ir_tensor *w, nn_geom *g)
{
  const nn_conv_params *p = n->params;
  const nn_window *win = &p->win;
  ONYX_TRY(check_input(n, x));
  char sx[160], sw[160];
  onyx_dims_str(x->ndim, x->dims, sx, sizeof(sx));
  onyx_dims_str(w->ndim, w->dims, sw, sizeof(sw));
  if (w->ndim != x->ndim)
    return op_error(n, ONYX_ERR_SHAPE, "weight shape %s does not match input shape %s (ranks differ)", sw,
                    sx);
  int64_t c = x->dims[1];
  if (c % p->group)
    return op_error(n, ONYX_ERR_SHAPE, "group %lld does not divide the %lld input channels",
                    (long long)p->group, (long long)c);
  if (w->dims[0] != c)
    return op_error(n, ONYX_ERR_SHAPE, "weight %s must have the input's %lld channels first (input %s)", sw,
                    (long long)c, sx);
  int nsp = x->ndim - 2;
  ONYX_TRY(check_lengths(n, win, nsp));
  if (p->n_output_padding >= 0 && p->n_output_padding != nsp)
    return op_error(n, ONYX_ERR_SHAPE, "output_padding has %d values but the input has %d spatial dims",
                    p->n_output_padding, nsp);
  if (p->n_output_shape >= 0 && p->n_output_shape != nsp && p->n_output_shape != nsp + 2)
    return op_error(n, ONYX_ERR_SHAPE, "output_shape has %d values but the input has %d spatial dims",
                    p->n_output_shape, nsp);
  g->nsp = nsp;
  for (int i = 0; i < nsp; i++) {
    int64_t in = x->dims[i + 2], k = w->dims[i + 2];
    if (k < 1) return op_error(n, ONYX_ERR_SHAPE, "weight %s has an empty kernel dimension", sw);
    if (win->n_kernel >= 0 && win->kernel[i] != k)
      return op_error(n, ONYX_ERR_SHAPE, "kernel_shape disagrees with the weight shape %s", sw);
    int64_t s = win->n_strides >= 0 ? win->strides[i] : 1, d = win->n_dilations >= 0 ? win->dilations[i] : 1;
    int64_t op = p->n_output_padding >= 0 ? p->output_padding[i] : 0;
    int64_t ek = (k - 1) * d + 1, full, pb = 0, pe = 0;
    /* the attributes are below 2^31 but the input dim may be up to 2^48 */
    if (onyx_mul_overflow_i64(s, in - 1, &full) || full > (int64_t)GRAPH_MAX_TENSOR_BYTES_CAP)
      return op_error(n, ONYX_ERR_SHAPE, "output size on spatial dim %d would be too large (stride %lld, input %lld)",
                      i, (long long)s, (long long)in);
    full += op + ek;
    g->in[i] = in, g->kernel[i] = k, g->strides[i] = s, g->dilations[i] = d;
    bool want =
        p->n_output_shape >= 0 || win->auto_pad == NN_PAD_SAME_UPPER || win->auto_pad == NN_PAD_SAME_LOWER;
    if (want) {
      int64_t target = p->n_output_shape >= 0 ? p->output_shape[p->n_output_shape - nsp + i] : in * s;
      int64_t total = full - target; /* negative: the output extends past the last input's reach (zeros) */
      if (win->auto_pad == NN_PAD_SAME_LOWER)
        pe = total / 2, pb = total - pe;
      else
        pb = total / 2, pe = total - pb;
    } else if (win->auto_pad == NN_PAD_NOTSET && win->n_pads >= 0) {
      pb = win->pads[i], pe = win->pads[i + nsp];
    }
    int64_t out = full - pb - pe;
    if (out < 1)
      return op_error(n, ONYX_ERR_SHAPE,
                      "output size on spatial dim %d would be %lld (pads %lld, %lld too large)", i,
                      (long long)out, (long long)pb, (long long)pe);
    g->out[i] = out, g->pad_begin[i] = pb, g->pad_end[i] = pe;
  }
  return ONYX_OK;
}

onyx_status nn_pool_geom(const ir_node *n, const ir_tensor *x, nn_geom *g)
{
  const nn_pool_params *p = n->params;
  ONYX_TRY(check_input(n, x));
  if (p->win.n_kernel != x->ndim - 2)
    return op_error(n, ONYX_ERR_SHAPE, "kernel_shape has %d values but the input has %d spatial dims",
                    p->win.n_kernel, x->ndim - 2);
  return resolve_forward(n, &p->win, x, p->win.kernel, p->ceil_mode, true, g);
}
