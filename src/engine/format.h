/* The engine file container: a checksummed header and opaque, checksummed sections.
 *
 * Layout (all fields little-endian, strings are u32 length + bytes):
 *   magic "ONYXENG\0" (8 bytes) | u32 format version | u32 header size | u64 file size
 *   string onyx version
 *   fingerprint: string GPU name | u32 cc major | u32 cc minor | u32 CUDA runtime | u32 cuDNN |
 *                u32 cuBLASLt | string precision | string build options
 *   u32 section count, then per section: u32 id | u64 offset | u64 size | u32 crc32
 *   u32 crc32 of every header byte before it
 *   sections, in table order, each at an offset aligned to ENG_SECTION_ALIGN; zero padding between
 *
 * The reader checks magic and version first (a newer format is refused by number), then the header
 * checksum, then every field; sections must lie inside the file, in ascending order without overlap,
 * with zero gaps and no trailing bytes, and match their crc32.  Anything else is ONYX_ERR_PARSE with a
 * message saying what and where; nothing on the way asserts or reads out of bounds. */
#ifndef ONYX_ENGINE_FORMAT_H
#define ONYX_ENGINE_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "onyx.h"

#define ENG_MAGIC "ONYXENG" /* 8 bytes with its NUL */
#define ENG_MAGIC_SIZE 8
#define ENG_FORMAT_VERSION 1u
#define ENG_SECTION_ALIGN 256u
#define ENG_MAX_HEADER_SIZE (16u << 20)
#define ENG_MAX_SECTIONS 4096u

/* Section ids; 0 is never valid.  The container treats every payload as opaque bytes. */
enum {
  ENG_SECTION_LAYERS = 1,
  ENG_SECTION_TENSORS = 2,
  ENG_SECTION_WEIGHTS = 3, /* one blob; the alignment makes its offset 256-byte aligned */
  ENG_SECTION_CUBINS = 4,
  ENG_SECTION_BINDINGS = 5,
  ENG_SECTION_OPTIONS = 6, /* precision, workspace, opt level, input shape ranges */
  ENG_SECTION_TACTICS = 7, /* the tactic cache (also the --timing-cache file's payload) */
};
const char *eng_section_name(uint32_t id); /* "weights", or "unknown" */

/* What an engine was built for.  Versions are as the libraries report them: CUDA runtime
 * 1000*major + 10*minor (12080 = 12.8), cuDNN 9 10000*major + 100*minor + patch (91900 = 9.19.0; cuDNN 8
 * used 1000*major + 100*minor + patch), cuBLASLt 10000*major + 100*minor + patch (120804 = 12.8.4). */
typedef struct eng_fingerprint {
  char gpu_name[256];
  uint32_t cc_major, cc_minor;
  uint32_t cuda_runtime, cudnn, cublaslt;
  char precision[32];       /* "fp32", "tf32", "fp16" */
  char build_options[1024]; /* the options that change the built engine, as text */
} eng_fingerprint;

/* Whether engine (what the file records) differs from here (this system); if so msg gets every
 * difference joined by "; ", e.g. "engine was built for NVIDIA H100 (sm_90), this GPU is NVIDIA H200
 * (sm_90); cuDNN 9.19.0 vs 9.14.0 here".  Precision and build options are compared only where here sets
 * them (a timing-cache key does; a runtime describing its system does not). */
bool eng_fingerprint_differs(const eng_fingerprint *engine, const eng_fingerprint *here, char *msg,
                             size_t cap);
/* The same as a status: ONYX_ERR_UNSUPPORTED "engine does not match this system: ..." on a difference. */
onyx_status eng_fingerprint_check(const eng_fingerprint *engine, const eng_fingerprint *here);

/* ---- writing ------------------------------------------------------------ */

typedef struct eng_file_writer {
  eng_fingerprint fp;
  struct eng_out_section {
    uint32_t id;
    uint8_t *data;
    size_t size;
  } * sections;
  int n_sections, cap_sections;
} eng_file_writer;

void eng_file_writer_init(eng_file_writer *w, const eng_fingerprint *fp);
void eng_file_writer_free(eng_file_writer *w);
/* Adds a section (copied).  Ids must be nonzero and unique. */
onyx_status eng_file_writer_add(eng_file_writer *w, uint32_t id, const void *data, size_t size);
/* Adds a section taking ownership of a malloc'd buffer (freed by the writer, also on failure). */
onyx_status eng_file_writer_add_owned(eng_file_writer *w, uint32_t id, void *data, size_t size);
/* The whole file in memory (free() *data). */
onyx_status eng_file_writer_serialize(const eng_file_writer *w, uint8_t **data, size_t *size);
/* The whole file to path atomically: a temporary file beside it, synced, then renamed over path. */
onyx_status eng_file_writer_write(const eng_file_writer *w, const char *path);

/* ---- reading ------------------------------------------------------------ */

typedef struct eng_section {
  uint32_t id;
  uint64_t offset, size;
  uint32_t crc;
} eng_section;

typedef struct eng_file {
  uint8_t *data; /* the whole file */
  size_t size;
  uint32_t version;
  char onyx_version[64];
  eng_fingerprint fp;
  eng_section *sections;
  uint32_t n_sections;
} eng_file;

/* Reads and validates a whole file; errors name the path. */
onyx_status eng_file_load(const char *path, eng_file **out);
/* Validates an in-memory file (copied, so data may be freed afterwards). */
onyx_status eng_file_parse(const void *data, size_t size, eng_file **out);
void eng_file_free(eng_file *f);
/* A section's bytes (inside f->data) by id; ONYX_ERR_PARSE naming the section when it is absent. */
onyx_status eng_file_section(const eng_file *f, uint32_t id, const uint8_t **data, size_t *size);
bool eng_file_has_section(const eng_file *f, uint32_t id);

#endif
