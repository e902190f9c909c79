/* Fuzz target: the engine-file reader, the parts that need no GPU: the
 * container (eng_file_parse: header, fingerprint, section table, checksums),
 * the fingerprint comparison, and the section readers: the graph and its
 * weights (eng_graph_read), the tactic cache and the cubin cache.
 *
 * Each input is parsed twice: as it is (so the checksum and size checks are
 * fuzzed too), then with its header's file size, section checksums and header
 * checksum recomputed, so that mutations inside sections get past the crc32
 * checks and reach the section readers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "engine/artifacts.h"
#include "engine/format.h"
#include "engine/graph_io.h"
#include "engine/tactics.h"
#include "fuzz.h"
#include "graph/ir.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc, (void)argv;
  return 0;
}

static uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }
static void wr32(uint8_t *p, uint32_t v)
{
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void wr64(uint8_t *p, uint64_t v)
{
  wr32(p, (uint32_t)v);
  wr32(p + 4, (uint32_t)(v >> 32));
}

/* Skips a u32-length string at *pos inside [0, end); 0 when it does not fit. */
static int skip_str(const uint8_t *d, size_t end, size_t *pos)
{
  if (end - *pos < 4) return 0;
  uint32_t n = rd32(d + *pos);
  *pos += 4;
  if (end - *pos < n) return 0;
  *pos += n;
  return 1;
}

/* Recomputes the file size, each section's crc32 that lies inside the file, and the header crc32, walking
 * the header as format.h lays it out (independently of the reader).  Leaves what it cannot walk. */
static void fix_checksums(uint8_t *d, size_t size)
{
  if (size < 28) return;
  uint32_t hsize = rd32(d + 12);
  if (hsize < 28 || hsize > size) return;
  wr64(d + 16, size);
  size_t end = hsize - 4, pos = 24;
  if (!skip_str(d, end, &pos) || !skip_str(d, end, &pos)) return; /* onyx version, GPU name */
  if (end - pos < 20) return;                                     /* cc major/minor, CUDA, cuDNN, cuBLASLt */
  pos += 20;
  if (!skip_str(d, end, &pos) || !skip_str(d, end, &pos)) return; /* precision, build options */
  if (end - pos < 4) return;
  uint32_t n = rd32(d + pos);
  pos += 4;
  for (uint32_t i = 0; i < n && end - pos >= 24; i++, pos += 24) {
    uint64_t off = rd64(d + pos + 4), len = rd64(d + pos + 12);
    if (off <= size && len <= size - off) wr32(d + pos + 20, (uint32_t)crc32_z(0, d + off, (size_t)len));
  }
  wr32(d + hsize - 4, (uint32_t)crc32_z(0, d, hsize - 4));
}

static void read_sections(const eng_file *f)
{
  static const eng_fingerprint here = {"NVIDIA H200", 9, 0, 12080, 91400, 120804, "fp16", "opt 3"};
  char msg[2048];
  eng_fingerprint_differs(&f->fp, &here, msg, sizeof(msg));
  eng_fingerprint_differs(&here, &f->fp, msg, sizeof(msg));
  eng_fingerprint_differs(&f->fp, &f->fp, msg, sizeof(msg));

  const uint8_t *gp, *wp;
  size_t gn, wn;
  if (eng_file_section(f, ENG_SECTION_TENSORS, &gp, &gn) == ONYX_OK &&
      eng_file_section(f, ENG_SECTION_WEIGHTS, &wp, &wn) == ONYX_OK) {
    ir_graph *g = NULL;
    if (eng_graph_read(gp, gn, wp, wn, &g) == ONYX_OK) {
      FUZZ_CHECK(g != NULL);
      /* a graph read back writes out again (the reader promises a well-formed graph) */
      eng_writer gw, ww;
      eng_writer_init(&gw);
      eng_writer_init(&ww);
      FUZZ_CHECK(eng_graph_write(g, &gw, &ww) == ONYX_OK);
      eng_writer_free(&gw);
      eng_writer_free(&ww);
      ir_graph_free(g);
    }
  }
  const uint8_t *p;
  size_t n;
  if (eng_file_section(f, ENG_SECTION_TACTICS, &p, &n) == ONYX_OK) {
    tactic_cache c;
    tactic_cache_init(&c);
    eng_reader r;
    eng_reader_init(&r, p, n);
    tactic_cache_read(&c, &r);
    tactic_cache_free(&c);
  }
  if (eng_file_section(f, ENG_SECTION_CUBINS, &p, &n) == ONYX_OK) {
    artifact_cache c;
    artifact_cache_init(&c);
    eng_reader r;
    eng_reader_init(&r, p, n);
    artifact_cache_read(&c, &r);
    artifact_cache_free(&c);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  eng_file *f = NULL;
  if (eng_file_parse(data, size, &f) == ONYX_OK) {
    read_sections(f);
    eng_file_free(f);
    return 0; /* already consistent: the fixed copy would be the same */
  }
  FUZZ_CHECK(f == NULL);
  uint8_t *copy = malloc(size ? size : 1);
  if (!copy) return 0;
  if (size) memcpy(copy, data, size);
  fix_checksums(copy, size);
  if (eng_file_parse(copy, size, &f) == ONYX_OK) {
    read_sections(f);
    eng_file_free(f);
  }
  free(copy);
  return 0;
}
