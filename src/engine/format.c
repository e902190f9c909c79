/* Engine file container: writing (atomically) and validating reading.  See format.h for the layout. */
#include "engine/format.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "common/status.h"
#include "common/util.h"
#include "engine/codec.h"

/* Offsets of the fixed fields at the start of the header. */
enum { OFF_VERSION = 8, OFF_HEADER_SIZE = 12, OFF_FILE_SIZE = 16, OFF_REST = 24 };
#define SECTION_ENTRY_BYTES 24 /* u32 id, u64 offset, u64 size, u32 crc */
#define MIN_HEADER_SIZE                                                                                      \
  (OFF_REST + 4 /* onyx version */ + 4 + 5 * 4 + 4 + 4 /* fingerprint */ + 4 /* count */ + 4)

static const char *const section_names[] = {
    [ENG_SECTION_LAYERS] = "layers", [ENG_SECTION_TENSORS] = "tensors",   [ENG_SECTION_WEIGHTS] = "weights",
    [ENG_SECTION_CUBINS] = "cubins", [ENG_SECTION_BINDINGS] = "bindings", [ENG_SECTION_OPTIONS] = "options",
    [ENG_SECTION_TACTICS] = "tactics",
};

const char *eng_section_name(uint32_t id)
{
  if (id >= ONYX_ARRAY_LEN(section_names) || !section_names[id]) return "unknown";
  return section_names[id];
}

static uint32_t crc_of(const void *p, size_t n) { return (uint32_t)crc32_z(0, (const Bytef *)p, n); }

static uint64_t align_up(uint64_t v)
{
  return (v + ENG_SECTION_ALIGN - 1) / ENG_SECTION_ALIGN * ENG_SECTION_ALIGN;
}

/* ---- writing ------------------------------------------------------------ */

void eng_file_writer_init(eng_file_writer *w, const eng_fingerprint *fp)
{
  memset(w, 0, sizeof(*w));
  if (fp) w->fp = *fp;
}

void eng_file_writer_free(eng_file_writer *w)
{
  for (int i = 0; i < w->n_sections; i++)
    free(w->sections[i].data);
  free(w->sections);
  memset(w, 0, sizeof(*w));
}

onyx_status eng_file_writer_add_owned(eng_file_writer *w, uint32_t id, void *data, size_t size)
{
  onyx_status st = ONYX_OK;
  if (id == 0) {
    st = onyx_error(ONYX_ERR_INVALID_ARG, "engine section id 0 is reserved");
    goto out_free_data;
  }
  for (int i = 0; i < w->n_sections; i++) {
    if (w->sections[i].id == id) {
      st = onyx_error(ONYX_ERR_INVALID_ARG, "engine section %u (%s) added twice", id, eng_section_name(id));
      goto out_free_data;
    }
  }
  if (w->n_sections >= (int)ENG_MAX_SECTIONS) {
    st = onyx_error(ONYX_ERR_INVALID_ARG, "more than %u engine sections", ENG_MAX_SECTIONS);
    goto out_free_data;
  }
  if (!onyx_grow((void **)&w->sections, &w->cap_sections, w->n_sections + 1, sizeof(*w->sections))) {
    st = ONYX_ERR_NO_MEMORY;
    goto out_free_data;
  }
  w->sections[w->n_sections++] = (struct eng_out_section){id, data, size};
  return ONYX_OK;
out_free_data:
  free(data);
  return st;
}

onyx_status eng_file_writer_add(eng_file_writer *w, uint32_t id, const void *data, size_t size)
{
  void *copy = onyx_malloc(size);
  if (!copy) return ONYX_ERR_NO_MEMORY;
  if (size) memcpy(copy, data, size);
  return eng_file_writer_add_owned(w, id, copy, size);
}

/* A fingerprint string must end inside its fixed array, or the reader could not read it back. */
static onyx_status put_fixed_string(eng_writer *h, const char *field, const char *s, size_t cap)
{
  if (strnlen(s, cap) == cap)
    return onyx_error(ONYX_ERR_INVALID_ARG, "engine fingerprint %s is not NUL-terminated within %zu bytes",
                      field, cap);
  return eng_put_string(h, s);
}

static onyx_status put_fingerprint(eng_writer *h, const eng_fingerprint *fp)
{
  ONYX_TRY(put_fixed_string(h, "GPU name", fp->gpu_name, sizeof(fp->gpu_name)));
  eng_put_u32(h, fp->cc_major);
  eng_put_u32(h, fp->cc_minor);
  eng_put_u32(h, fp->cuda_runtime);
  eng_put_u32(h, fp->cudnn);
  eng_put_u32(h, fp->cublaslt);
  ONYX_TRY(put_fixed_string(h, "precision", fp->precision, sizeof(fp->precision)));
  return put_fixed_string(h, "build options", fp->build_options, sizeof(fp->build_options));
}

/* The header, with section offsets laid out after it; *file_size is the total. */
static onyx_status build_header(const eng_file_writer *w, eng_writer *h, uint64_t *file_size)
{
  eng_put_bytes(h, ENG_MAGIC, ENG_MAGIC_SIZE);
  eng_put_u32(h, ENG_FORMAT_VERSION);
  eng_put_u32(h, 0); /* header size, patched below */
  eng_put_u64(h, 0); /* file size, patched below */
  eng_put_string(h, onyx_version_string());
  ONYX_TRY(put_fingerprint(h, &w->fp));
  eng_put_u32(h, (uint32_t)w->n_sections);
  size_t table = h->size;
  for (int i = 0; i < w->n_sections; i++) {
    eng_put_u32(h, w->sections[i].id);
    eng_put_u64(h, 0); /* offset, patched below */
    eng_put_u64(h, w->sections[i].size);
    eng_put_u32(h, crc_of(w->sections[i].data, w->sections[i].size));
  }
  eng_put_u32(h, 0); /* header crc, patched below */
  ONYX_TRY(eng_writer_status(h));
  if (h->size > ENG_MAX_HEADER_SIZE)
    return onyx_error(ONYX_ERR_INVALID_ARG, "engine header of %zu bytes is over the %u-byte limit", h->size,
                      ENG_MAX_HEADER_SIZE);

  uint64_t end = h->size;
  for (int i = 0; i < w->n_sections; i++) {
    uint64_t off = align_up(end);
    eng_patch_u64(h, table + (size_t)i * SECTION_ENTRY_BYTES + 4, off);
    end = off + w->sections[i].size;
  }
  eng_patch_u32(h, OFF_HEADER_SIZE, (uint32_t)h->size);
  eng_patch_u64(h, OFF_FILE_SIZE, end);
  eng_patch_u32(h, h->size - 4, crc_of(h->data, h->size - 4));
  *file_size = end;
  return eng_writer_status(h);
}

/* Where serialized bytes go: memory or a file. */
typedef struct sink {
  eng_writer *mem;
  FILE *file;
  const char *path;
} sink;

static onyx_status sink_put(sink *s, const void *p, size_t n)
{
  if (s->mem) return eng_put_bytes(s->mem, p, n);
  if (n && fwrite(p, 1, n, s->file) != n)
    return onyx_error(ONYX_ERR_IO, "cannot write '%s': %s", s->path, strerror(errno));
  return ONYX_OK;
}

static onyx_status emit(const eng_file_writer *w, sink *s)
{
  static const uint8_t zeros[ENG_SECTION_ALIGN];
  eng_writer h;
  uint64_t file_size;
  eng_writer_init(&h);
  onyx_status st = build_header(w, &h, &file_size);
  if (st == ONYX_OK) st = sink_put(s, h.data, h.size);
  uint64_t end = h.size;
  for (int i = 0; st == ONYX_OK && i < w->n_sections; i++) {
    st = sink_put(s, zeros, (size_t)(align_up(end) - end));
    if (st == ONYX_OK) st = sink_put(s, w->sections[i].data, w->sections[i].size);
    end = align_up(end) + w->sections[i].size;
  }
  eng_writer_free(&h);
  return st;
}

onyx_status eng_file_writer_serialize(const eng_file_writer *w, uint8_t **data, size_t *size)
{
  eng_writer out;
  eng_writer_init(&out);
  sink s = {.mem = &out};
  onyx_status st = emit(w, &s);
  if (st != ONYX_OK) {
    eng_writer_free(&out);
    *data = NULL;
    *size = 0;
    return st;
  }
  *data = eng_writer_take(&out, size);
  return ONYX_OK;
}

onyx_status eng_file_writer_write(const eng_file_writer *w, const char *path)
{
  onyx_status st = ONYX_OK;
  size_t plen = strlen(path);
  char *tmp = onyx_malloc(plen + 16);
  if (!tmp) return ONYX_ERR_NO_MEMORY;
  snprintf(tmp, plen + 16, "%s.tmp.XXXXXX", path);
  int fd = mkstemp(tmp);
  if (fd < 0) {
    st = onyx_error(ONYX_ERR_IO, "cannot create '%s': %s", tmp, strerror(errno));
    goto out_free_tmp;
  }
  fchmod(fd, 0644); /* mkstemp makes 0600; an engine is a build product like any other */
  FILE *f = fdopen(fd, "wb");
  if (!f) {
    st = onyx_error(ONYX_ERR_IO, "cannot open '%s': %s", tmp, strerror(errno));
    close(fd);
    goto out_unlink;
  }
  sink s = {.file = f, .path = tmp};
  st = emit(w, &s);
  if (st == ONYX_OK && (fflush(f) != 0 || fsync(fileno(f)) != 0))
    st = onyx_error(ONYX_ERR_IO, "cannot write '%s': %s", tmp, strerror(errno));
  if (fclose(f) != 0 && st == ONYX_OK)
    st = onyx_error(ONYX_ERR_IO, "cannot close '%s': %s", tmp, strerror(errno));
  if (st == ONYX_OK && rename(tmp, path) != 0)
    st = onyx_error(ONYX_ERR_IO, "cannot rename '%s' to '%s': %s", tmp, path, strerror(errno));
  if (st == ONYX_OK) goto out_free_tmp;
out_unlink:
  unlink(tmp);
out_free_tmp:
  free(tmp);
  return st;
}

/* ---- reading ------------------------------------------------------------ */

/* Magic, version and header size: what must hold before anything else can be trusted. */
static onyx_status check_prefix(eng_reader *r, eng_file *f, uint32_t *header_size)
{
  const uint8_t *magic;
  ONYX_TRY(eng_get_bytes(r, "magic", ENG_MAGIC_SIZE, &magic));
  if (memcmp(magic, ENG_MAGIC, ENG_MAGIC_SIZE) != 0)
    return onyx_error(ONYX_ERR_PARSE, "not an onyx engine (the file does not start with \"ONYXENG\")");
  ONYX_TRY(eng_get_u32(r, "format version", &f->version));
  if (f->version == 0) return onyx_error(ONYX_ERR_PARSE, "engine format version 0 is invalid");
  if (f->version > ENG_FORMAT_VERSION)
    return onyx_error(ONYX_ERR_UNSUPPORTED, "engine format %u is newer than this onyx (reads up to %u)",
                      f->version, ENG_FORMAT_VERSION);
  ONYX_TRY(eng_get_u32(r, "header size", header_size));
  if (*header_size < MIN_HEADER_SIZE || *header_size > ENG_MAX_HEADER_SIZE)
    return onyx_error(ONYX_ERR_PARSE, "header size %u is outside [%u, %u]", *header_size, MIN_HEADER_SIZE,
                      ENG_MAX_HEADER_SIZE);
  if (*header_size > r->size)
    return onyx_error(ONYX_ERR_PARSE, "truncated: the header is %u bytes, the file only %zu", *header_size,
                      r->size);
  return ONYX_OK;
}

static onyx_status get_fingerprint(eng_reader *r, eng_fingerprint *fp)
{
  ONYX_TRY(eng_get_string(r, "GPU name", fp->gpu_name, sizeof(fp->gpu_name)));
  ONYX_TRY(eng_get_u32(r, "compute capability major", &fp->cc_major));
  ONYX_TRY(eng_get_u32(r, "compute capability minor", &fp->cc_minor));
  ONYX_TRY(eng_get_u32(r, "CUDA runtime version", &fp->cuda_runtime));
  ONYX_TRY(eng_get_u32(r, "cuDNN version", &fp->cudnn));
  ONYX_TRY(eng_get_u32(r, "cuBLASLt version", &fp->cublaslt));
  ONYX_TRY(eng_get_string(r, "precision", fp->precision, sizeof(fp->precision)));
  return eng_get_string(r, "build options", fp->build_options, sizeof(fp->build_options));
}

static onyx_status get_section_table(eng_reader *r, eng_file *f)
{
  ONYX_TRY(eng_get_count(r, "section count", SECTION_ENTRY_BYTES, ENG_MAX_SECTIONS, &f->n_sections));
  f->sections = onyx_calloc(f->n_sections, sizeof(*f->sections));
  if (!f->sections) return ONYX_ERR_NO_MEMORY;
  for (uint32_t i = 0; i < f->n_sections; i++) {
    eng_section *s = &f->sections[i];
    ONYX_TRY(eng_get_u32(r, "section id", &s->id));
    ONYX_TRY(eng_get_u64(r, "section offset", &s->offset));
    ONYX_TRY(eng_get_u64(r, "section size", &s->size));
    ONYX_TRY(eng_get_u32(r, "section crc32", &s->crc));
  }
  if (eng_reader_left(r) != 0)
    return onyx_error(ONYX_ERR_PARSE, "header has %zu unexpected bytes after the section table at offset %zu",
                      eng_reader_left(r), r->pos);
  return ONYX_OK;
}

/* Section i against the file and the sections before it; end is where the previous one ended. */
static onyx_status check_section(const eng_file *f, uint32_t i, uint64_t end)
{
  const eng_section *s = &f->sections[i];
  const char *name = eng_section_name(s->id);
  if (s->id == 0) return onyx_error(ONYX_ERR_PARSE, "section %u has the reserved id 0", i);
  for (uint32_t j = 0; j < i; j++) {
    if (f->sections[j].id == s->id)
      return onyx_error(ONYX_ERR_PARSE, "sections %u and %u both have id %u (%s)", j, i, s->id, name);
  }
  if (s->offset > f->size || s->size > f->size - s->offset)
    return onyx_error(ONYX_ERR_PARSE,
                      "section %u (%s) at offset %llu, %llu bytes, lies outside the %zu-byte file", i, name,
                      (unsigned long long)s->offset, (unsigned long long)s->size, f->size);
  if (s->offset < end)
    return onyx_error(ONYX_ERR_PARSE,
                      "section %u (%s) at offset %llu overlaps what precedes it (ends at %llu)", i, name,
                      (unsigned long long)s->offset, (unsigned long long)end);
  if (s->offset != align_up(end))
    return onyx_error(ONYX_ERR_PARSE,
                      "section %u (%s) at offset %llu, expected %llu (the next %u-byte boundary)", i, name,
                      (unsigned long long)s->offset, (unsigned long long)align_up(end), ENG_SECTION_ALIGN);
  for (uint64_t k = end; k < s->offset; k++) {
    if (f->data[k] != 0)
      return onyx_error(ONYX_ERR_PARSE, "padding byte at offset %llu before section %u is not zero",
                        (unsigned long long)k, i);
  }
  uint32_t crc = crc_of(f->data + s->offset, (size_t)s->size);
  if (crc != s->crc)
    return onyx_error(ONYX_ERR_PARSE, "section %u (%s) is corrupt: crc32 %08x, the header says %08x", i, name,
                      crc, s->crc);
  return ONYX_OK;
}

static onyx_status parse_owned(eng_file *f)
{
  eng_reader r;
  uint32_t header_size;
  uint64_t file_size;
  eng_reader_init(&r, f->data, f->size);
  ONYX_TRY(check_prefix(&r, f, &header_size));
  uint32_t stored_crc = (uint32_t)f->data[header_size - 4] | (uint32_t)f->data[header_size - 3] << 8 |
                        (uint32_t)f->data[header_size - 2] << 16 | (uint32_t)f->data[header_size - 1] << 24;
  uint32_t crc = crc_of(f->data, header_size - 4);
  if (crc != stored_crc)
    return onyx_error(ONYX_ERR_PARSE, "header is corrupt: crc32 %08x, stored %08x", crc, stored_crc);
  ONYX_TRY(eng_get_u64(&r, "file size", &file_size));
  if (file_size != f->size)
    return onyx_error(ONYX_ERR_PARSE, "%s: the file is %zu bytes, its header says %llu",
                      f->size < file_size ? "truncated" : "trailing bytes", f->size,
                      (unsigned long long)file_size);

  r.size = header_size - 4; /* the rest of the header, before its crc */
  ONYX_TRY(eng_get_string(&r, "onyx version", f->onyx_version, sizeof(f->onyx_version)));
  ONYX_TRY(get_fingerprint(&r, &f->fp));
  ONYX_TRY(get_section_table(&r, f));
  uint64_t end = header_size;
  for (uint32_t i = 0; i < f->n_sections; i++) {
    ONYX_TRY(check_section(f, i, end));
    end = f->sections[i].offset + f->sections[i].size;
  }
  if (end != f->size)
    return onyx_error(ONYX_ERR_PARSE, "%llu unexpected bytes after the last section at offset %llu",
                      (unsigned long long)(f->size - end), (unsigned long long)end);
  return ONYX_OK;
}

/* Takes ownership of data (also on failure). */
static onyx_status parse_buffer(uint8_t *data, size_t size, const char *what, eng_file **out)
{
  *out = NULL;
  eng_file *f = onyx_calloc(1, sizeof(*f));
  if (!f) {
    free(data);
    return ONYX_ERR_NO_MEMORY;
  }
  f->data = data;
  f->size = size;
  onyx_status st = parse_owned(f);
  if (st != ONYX_OK) {
    eng_file_free(f);
    return onyx_error_context(st, "%s", what);
  }
  *out = f;
  return ONYX_OK;
}

onyx_status eng_file_load(const char *path, eng_file **out)
{
  void *data;
  size_t size;
  char what[512];
  *out = NULL;
  ONYX_TRY(onyx_read_file(path, SIZE_MAX / 2, &data, &size));
  snprintf(what, sizeof(what), "engine file '%s'", path);
  return parse_buffer(data, size, what, out);
}

onyx_status eng_file_parse(const void *data, size_t size, eng_file **out)
{
  *out = NULL;
  uint8_t *copy = onyx_malloc(size);
  if (!copy) return ONYX_ERR_NO_MEMORY;
  if (size) memcpy(copy, data, size);
  return parse_buffer(copy, size, "engine data", out);
}

void eng_file_free(eng_file *f)
{
  if (!f) return;
  free(f->data);
  free(f->sections);
  free(f);
}

bool eng_file_has_section(const eng_file *f, uint32_t id)
{
  for (uint32_t i = 0; i < f->n_sections; i++) {
    if (f->sections[i].id == id) return true;
  }
  return false;
}

onyx_status eng_file_section(const eng_file *f, uint32_t id, const uint8_t **data, size_t *size)
{
  for (uint32_t i = 0; i < f->n_sections; i++) {
    if (f->sections[i].id == id) {
      *data = f->data + f->sections[i].offset;
      *size = (size_t)f->sections[i].size;
      return ONYX_OK;
    }
  }
  return onyx_error(ONYX_ERR_PARSE, "engine has no %s section (id %u)", eng_section_name(id), id);
}
