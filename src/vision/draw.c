/* Boxes, labels and a bitmap font; PNG/JPEG writing.  See draw.h. */
#include "vision/draw.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <stb_image_write.h>

#include "common/util.h"

/* ---- font ---------------------------------------------------------------
 * 5 x 8 cells: rows 0-6 hold capitals and digits (baseline under row 6), row 7
 * the descenders of g, j, p, q, y, ',' and '_'.  Each glyph is its rows as
 * five '#'/'.' characters separated by spaces; a glyph of seven rows has an
 * empty eighth.  Characters not listed are drawn as '?'. */
#define FONT_W 5
#define FONT_H 8

static const struct glyph {
  char c;
  const char *rows;
} font[] = {
    {' ', "..... ..... ..... ..... ..... ..... ....."},
    {'0', ".###. #...# #..## #.#.# ##..# #...# .###."},
    {'1', "..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###."},
    {'2', ".###. #...# ....# ...#. ..#.. .#... #####"},
    {'3', "####. ....# ....# .###. ....# ....# ####."},
    {'4', "...#. ..##. .#.#. #..#. ##### ...#. ...#."},
    {'5', "##### #.... ####. ....# ....# #...# .###."},
    {'6', "..##. .#... #.... ####. #...# #...# .###."},
    {'7', "##### ....# ...#. ..#.. .#... .#... .#..."},
    {'8', ".###. #...# #...# .###. #...# #...# .###."},
    {'9', ".###. #...# #...# .#### ....# ...#. .##.."},
    {'a', "..... ..... .###. ....# .#### #...# .####"},
    {'b', "#.... #.... #.##. ##..# #...# #...# ####."},
    {'c', "..... ..... .###. #.... #.... #...# .###."},
    {'d', "....# ....# .##.# #..## #...# #...# .####"},
    {'e', "..... ..... .###. #...# ##### #.... .###."},
    {'f', "..##. .#..# .#... ###.. .#... .#... .#..."},
    {'g', "..... ..... .#### #...# #...# .#### ....# .###."},
    {'h', "#.... #.... #.##. ##..# #...# #...# #...#"},
    {'i', "..#.. ..... .##.. ..#.. ..#.. ..#.. .###."},
    {'j', "...#. ..... ..##. ...#. ...#. ...#. #..#. .##.."},
    {'k', "#.... #.... #..#. #.#.. ##... #.#.. #..#."},
    {'l', ".##.. ..#.. ..#.. ..#.. ..#.. ..#.. .###."},
    {'m', "..... ..... ##.#. #.#.# #.#.# #.#.# #.#.#"},
    {'n', "..... ..... #.##. ##..# #...# #...# #...#"},
    {'o', "..... ..... .###. #...# #...# #...# .###."},
    {'p', "..... ..... ####. #...# #...# ####. #.... #...."},
    {'q', "..... ..... .#### #...# #...# .#### ....# ....#"},
    {'r', "..... ..... #.##. ##..# #.... #.... #...."},
    {'s', "..... ..... .###. #.... .###. ....# ####."},
    {'t', ".#... .#... ###.. .#... .#... .#..# ..##."},
    {'u', "..... ..... #...# #...# #...# #..## .##.#"},
    {'v', "..... ..... #...# #...# #...# .#.#. ..#.."},
    {'w', "..... ..... #...# #...# #.#.# #.#.# .#.#."},
    {'x', "..... ..... #...# .#.#. ..#.. .#.#. #...#"},
    {'y', "..... ..... #...# #...# #...# .#### ....# .###."},
    {'z', "..... ..... ##### ...#. ..#.. .#... #####"},
    {'A', ".###. #...# #...# ##### #...# #...# #...#"},
    {'B', "####. #...# #...# ####. #...# #...# ####."},
    {'C', ".###. #...# #.... #.... #.... #...# .###."},
    {'D', "####. #...# #...# #...# #...# #...# ####."},
    {'E', "##### #.... #.... ####. #.... #.... #####"},
    {'F', "##### #.... #.... ####. #.... #.... #...."},
    {'G', ".###. #...# #.... #.### #...# #...# .####"},
    {'H', "#...# #...# #...# ##### #...# #...# #...#"},
    {'I', ".###. ..#.. ..#.. ..#.. ..#.. ..#.. .###."},
    {'J', "..### ...#. ...#. ...#. ...#. #..#. .##.."},
    {'K', "#...# #..#. #.#.. ##... #.#.. #..#. #...#"},
    {'L', "#.... #.... #.... #.... #.... #.... #####"},
    {'M', "#...# ##.## #.#.# #.#.# #...# #...# #...#"},
    {'N', "#...# #...# ##..# #.#.# #..## #...# #...#"},
    {'O', ".###. #...# #...# #...# #...# #...# .###."},
    {'P', "####. #...# #...# ####. #.... #.... #...."},
    {'Q', ".###. #...# #...# #...# #.#.# #..#. .##.#"},
    {'R', "####. #...# #...# ####. #.#.. #..#. #...#"},
    {'S', ".#### #.... #.... .###. ....# ....# ####."},
    {'T', "##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#.."},
    {'U', "#...# #...# #...# #...# #...# #...# .###."},
    {'V', "#...# #...# #...# #...# #...# .#.#. ..#.."},
    {'W', "#...# #...# #...# #.#.# #.#.# #.#.# .#.#."},
    {'X', "#...# #...# .#.#. ..#.. .#.#. #...# #...#"},
    {'Y', "#...# #...# .#.#. ..#.. ..#.. ..#.. ..#.."},
    {'Z', "##### ....# ...#. ..#.. .#... #.... #####"},
    {'.', "..... ..... ..... ..... ..... .##.. .##.."},
    {',', "..... ..... ..... ..... ..... .##.. ..#.. .#..."},
    {'-', "..... ..... ..... ##### ..... ..... ....."},
    {'_', "..... ..... ..... ..... ..... ..... ..... #####"},
    {':', "..... .##.. .##.. ..... .##.. .##.. ....."},
    {'(', "...#. ..#.. .#... .#... .#... ..#.. ...#."},
    {')', ".#... ..#.. ...#. ...#. ...#. ..#.. .#..."},
    {'/', "....# ....# ...#. ..#.. .#... #.... #...."},
    {'%', "##..# ##..# ...#. ..#.. .#... #..## #..##"},
    {'\'', "..#.. ..#.. .#... ..... ..... ..... ....."},
    {'+', "..... ..#.. ..#.. ##### ..#.. ..#.. ....."},
    {'=', "..... ..... ##### ..... ##### ..... ....."},
    {'#', ".#.#. .#.#. ##### .#.#. ##### .#.#. .#.#."},
    {'?', ".###. #...# ....# ...#. ..#.. ..... ..#.."},
};

static const char *glyph_rows(char c)
{
  for (size_t i = 0; i < ONYX_ARRAY_LEN(font); i++)
    if (font[i].c == c) return font[i].rows;
  return glyph_rows('?');
}

/* Whether font pixel (x, y) of a glyph is set. */
static bool glyph_px(const char *rows, int x, int y)
{
  size_t at = (size_t)y * (FONT_W + 1) + (size_t)x;
  return at < strlen(rows) && rows[at] == '#';
}

/* One character is FONT_W + 1 font pixels wide (a column of spacing). */
void draw_text_size(const char *text, int scale, int *w, int *h)
{
  *w = (int)strlen(text) * (FONT_W + 1) * scale;
  *h = FONT_H * scale;
}

static void fill_rect(image_rgb *im, int x0, int y0, int x1, int y1, const unsigned char rgb[3])
{
  if (x0 < 0) x0 = 0;
  if (y0 < 0) y0 = 0;
  if (x1 > im->w) x1 = im->w;
  if (y1 > im->h) y1 = im->h;
  for (int y = y0; y < y1; y++)
    for (int x = x0; x < x1; x++) memcpy(im->px + ((size_t)y * (size_t)im->w + (size_t)x) * 3, rgb, 3);
}

void draw_text(image_rgb *im, int x, int y, const char *text, int scale, const unsigned char rgb[3])
{
  for (; *text; text++, x += (FONT_W + 1) * scale) {
    const char *rows = glyph_rows(*text);
    for (int gy = 0; gy < FONT_H; gy++)
      for (int gx = 0; gx < FONT_W; gx++)
        if (glyph_px(rows, gx, gy))
          fill_rect(im, x + gx * scale, y + gy * scale, x + (gx + 1) * scale, y + (gy + 1) * scale, rgb);
  }
}

/* ---- boxes ---------------------------------------------------------------- */

/* Twenty colours far enough apart; class c gets palette[c % 20]. */
static const unsigned char palette[20][3] = {
    {255, 56, 56},  {255, 157, 151}, {255, 112, 31}, {255, 178, 29}, {207, 210, 49}, {72, 249, 10},  {146, 204, 23},
    {61, 219, 134}, {26, 147, 52},   {0, 212, 187},  {44, 153, 168}, {0, 194, 255},  {52, 69, 147},  {100, 115, 255},
    {0, 24, 236},   {132, 56, 255},  {82, 0, 133},   {203, 56, 255}, {255, 149, 200}, {255, 55, 199},
};

static int to_px(float v, int hi)
{
  if (!(v >= 0.0f)) return 0;
  if (v >= (float)hi) return hi;
  return (int)lroundf(v);
}

void draw_detections(image_rgb *im, const det_box *dets, int n, const char *const *names, int n_names)
{
  if (!im || !im->px || im->w <= 0 || im->h <= 0) return;
  /* line width and font scale grow with the image (about 2 px and 8 px high text for 640x640) */
  int lw = (int)lround((im->w + im->h) / 2.0 * 0.003), scale = (int)lround((im->w < im->h ? im->w : im->h) / 400.0);
  if (lw < 2) lw = 2;
  if (scale < 1) scale = 1;
  /* boxes first, labels after, so that no box is drawn over a label */
  for (int pass = 0; pass < 2; pass++) {
    for (int i = 0; i < n; i++) {
      const det_box *d = &dets[i];
      const unsigned char *col = palette[(unsigned)d->cls % 20u];
      int x1 = to_px(d->x1, im->w), y1 = to_px(d->y1, im->h), x2 = to_px(d->x2, im->w), y2 = to_px(d->y2, im->h);
      if (x2 < x1 || y2 < y1) continue;
      if (pass == 0) {
        fill_rect(im, x1, y1, x2, y1 + lw, col);
        fill_rect(im, x1, y2 - lw, x2, y2, col);
        fill_rect(im, x1, y1, x1 + lw, y2, col);
        fill_rect(im, x2 - lw, y1, x2, y2, col);
        continue;
      }
      char label[96];
      if (d->cls >= 0 && d->cls < n_names && names[d->cls])
        snprintf(label, sizeof(label), "%.80s %.2f", names[d->cls], (double)d->score);
      else
        snprintf(label, sizeof(label), "%d %.2f", d->cls, (double)d->score);
      int tw, th;
      draw_text_size(label, scale, &tw, &th);
      int pad = scale, lh = th + 2 * pad;
      /* the tag sits on the box's top edge, inside the box when there is no room above */
      int ty = y1 - lh >= 0 ? y1 - lh : y1;
      int tx = x1 + tw + 2 * pad > im->w ? im->w - tw - 2 * pad : x1;
      if (tx < 0) tx = 0;
      fill_rect(im, tx, ty, tx + tw + 2 * pad, ty + lh, col);
      int lum = (299 * col[0] + 587 * col[1] + 114 * col[2]) / 1000;
      static const unsigned char white[3] = {255, 255, 255}, black[3] = {0, 0, 0};
      draw_text(im, tx + pad, ty + pad, label, scale, lum < 150 ? white : black);
    }
  }
}

/* ---- writing --------------------------------------------------------------- */

typedef struct sink {
  FILE *f;
  bool failed;
} sink;

static void sink_write(void *ctx, void *data, int size)
{
  sink *s = ctx;
  if (!s->failed && size > 0 && fwrite(data, 1, (size_t)size, s->f) != (size_t)size) s->failed = true;
}

static bool ends_with(const char *s, const char *suffix)
{
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && !strcasecmp(s + n - k, suffix);
}

onyx_status draw_save(const image_rgb *im, const char *path)
{
  if (!im || !im->px || !path || im->w <= 0 || im->h <= 0)
    return onyx_error(ONYX_ERR_INVALID_ARG, "draw_save: no image or path");
  bool png = ends_with(path, ".png"), jpg = ends_with(path, ".jpg") || ends_with(path, ".jpeg");
  if (!png && !jpg)
    return onyx_error(ONYX_ERR_INVALID_ARG, "'%s': cannot tell the image format (use .png, .jpg or .jpeg)", path);
  sink s = {fopen(path, "wb"), false};
  if (!s.f) return onyx_error(ONYX_ERR_IO, "cannot create '%s': %s", path, strerror(errno));
  int ok = png ? stbi_write_png_to_func(sink_write, &s, im->w, im->h, 3, im->px, im->w * 3)
               : stbi_write_jpg_to_func(sink_write, &s, im->w, im->h, 3, im->px, 90);
  int err = errno;
  if (fclose(s.f) != 0 && !s.failed) {
    s.failed = true;
    err = errno;
  }
  if (!ok || s.failed) {
    remove(path);
    return onyx_error(ONYX_ERR_IO, "cannot write '%s': %s", path, s.failed ? strerror(err) : "encoder failed");
  }
  return ONYX_OK;
}
