/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include <openssl/evp.h>

#include "base64.h"
#include "initdata.h"
#include "util.h"

void initdata_free(struct initdata *id)
{
        if (!id)
                return;
        free(id->toml);
        free(id->gz);
        toml_doc_free(id->doc);
        free(id);
}

const char *initdata_alg_name(enum initdata_alg alg)
{
        static const char *const names[] = {"sha256", "sha384", "sha512"};
        return names[alg];
}

int initdata_gunzip(const uint8_t *in, size_t len, size_t limit, uint8_t **ret_out, size_t *ret_len,
                    struct coco_error **err)
{
        z_stream zs = {0};
        _cleanup_free_ uint8_t *out = NULL;
        size_t cap = 0, n = 0;
        int z;

        if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
                return coco_error_set(err, ENOMEM, "initdata: cannot start gzip decoder");
        zs.next_in = (uint8_t *)in;
        zs.avail_in = (uInt)len;
        do {
                if (n == cap) {
                        if (cap > limit) {
                                inflateEnd(&zs);
                                return coco_error_set(err, E2BIG,
                                                      "initdata: the document expands beyond "
                                                      "%zu bytes; keep it smaller",
                                                      limit);
                        }
                        cap = cap ? cap * 2 : 16384;
                        out = xrealloc(out, cap);
                }
                zs.next_out = out + n;
                zs.avail_out = (uInt)(cap - n);
                z = inflate(&zs, Z_NO_FLUSH);
                n = cap - zs.avail_out;
        } while (z == Z_OK);
        size_t rest = zs.avail_in;
        inflateEnd(&zs);
        if (z != Z_STREAM_END)
                return coco_error_set(err, EINVAL,
                                      z == Z_BUF_ERROR
                                              ? "initdata: the gzip data is truncated"
                                              : "initdata: the data is not valid gzip (%s)",
                                      zs.msg ? zs.msg : "bad header or checksum");
        if (rest)
                return coco_error_set(err, EINVAL,
                                      "initdata: %zu bytes of trailing data after the gzip stream",
                                      rest);
        if (n > limit)
                return coco_error_set(err, E2BIG,
                                      "initdata: the document expands beyond %zu bytes; keep it "
                                      "smaller",
                                      limit);
        *ret_out = TAKE_PTR(out);
        *ret_len = n;
        return 0;
}

void initdata_gzip(const uint8_t *in, size_t len, uint8_t **ret_out, size_t *ret_len)
{
        z_stream zs = {0};

        /* windowBits 31: gzip wrapper with mtime 0 and no name, so output is reproducible */
        if (deflateInit2(&zs, 9, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK)
                abort();
        size_t cap = deflateBound(&zs, (uLong)len);
        uint8_t *out = xmalloc(cap);
        zs.next_in = (uint8_t *)in;
        zs.avail_in = (uInt)len;
        zs.next_out = out;
        zs.avail_out = (uInt)cap;
        if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
                abort(); /* cannot happen with deflateBound's size */
        *ret_len = cap - zs.avail_out;
        deflateEnd(&zs);
        *ret_out = out;
}

static int validate(struct initdata *id, struct coco_error **err)
{
        const struct toml_entry *version = toml_get(id->doc, "", "version");
        const struct toml_entry *alg = toml_get(id->doc, "", "algorithm");

        if (!version)
                return coco_error_set(err, EINVAL,
                                      "initdata: missing version (expected "
                                      "version = \"" INITDATA_VERSION "\")");
        if (strcmp(version->value, INITDATA_VERSION) != 0)
                return coco_error_set(err, EINVAL,
                                      "initdata: unsupported version \"%s\"; this runtime reads "
                                      "version \"" INITDATA_VERSION "\"",
                                      version->value);
        if (!alg)
                return coco_error_set(err, EINVAL,
                                      "initdata: missing algorithm (sha256, sha384 "
                                      "or sha512)");
        if (strcmp(alg->value, "sha256") == 0)
                id->alg = INITDATA_SHA256;
        else if (strcmp(alg->value, "sha384") == 0)
                id->alg = INITDATA_SHA384;
        else if (strcmp(alg->value, "sha512") == 0)
                id->alg = INITDATA_SHA512;
        else
                return coco_error_set(err, EINVAL,
                                      "initdata: unknown algorithm \"%s\" (line %u); use sha256, "
                                      "sha384 or sha512",
                                      alg->value, alg->line);
        for (size_t i = 0; i < id->doc->n_entries; i++) {
                const struct toml_entry *e = &id->doc->entries[i];
                if (strcmp(e->table, "data") == 0)
                        continue;
                if (e->table[0])
                        return coco_error_set(err, EINVAL,
                                              "initdata: unknown table [%s] (line %u); files go "
                                              "under [data]",
                                              e->table, e->line);
                if (strcmp(e->key, "version") != 0 && strcmp(e->key, "algorithm") != 0)
                        return coco_error_set(err, EINVAL,
                                              "initdata: unknown key \"%s\" (line %u); expected "
                                              "version, algorithm and a [data] table",
                                              e->key, e->line);
        }

        const EVP_MD *md = id->alg == INITDATA_SHA256   ? EVP_sha256()
                           : id->alg == INITDATA_SHA384 ? EVP_sha384()
                                                        : EVP_sha512();
        unsigned int dlen = 0;
        if (!EVP_Digest(id->toml, id->toml_len, id->digest, &dlen, md, NULL))
                return coco_error_set(err, EIO, "initdata: computing the %s digest failed",
                                      alg->value);
        id->digest_len = dlen;
        return 0;
}

/* Take toml (and gz when known), parse and validate. */
static int finish(uint8_t *toml, size_t toml_len, uint8_t *gz, size_t gz_len, struct initdata **ret,
                  struct coco_error **err)
{
        _cleanup_(initdata_freep) struct initdata *id = xcalloc(1, sizeof(*id));
        int r;

        id->toml = toml;
        id->toml_len = toml_len;
        if (!gz)
                initdata_gzip(toml, toml_len, &gz, &gz_len);
        id->gz = gz;
        id->gz_len = gz_len;
        r = toml_parse((const char *)toml, toml_len, &id->doc, err);
        if (r < 0)
                return coco_error_wrap(err, r, "initdata");
        r = validate(id, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(id);
        return 0;
}

int initdata_from_toml(const void *toml, size_t len, struct initdata **ret, struct coco_error **err)
{
        if (len > INITDATA_MAX_TOML)
                return coco_error_set(err, E2BIG,
                                      "initdata: the document is %zu bytes, over the %u byte limit",
                                      len, INITDATA_MAX_TOML);
        return finish(xmemdup(toml, len), len, NULL, 0, ret, err);
}

int initdata_from_annotation(const char *value, struct initdata **ret, struct coco_error **err)
{
        _cleanup_free_ uint8_t *gz = NULL;
        uint8_t *toml = NULL;
        size_t gz_len, toml_len, vlen = strlen(value);
        int r;

        if (vlen == 0)
                return coco_error_set(err, EINVAL, "initdata annotation is empty");
        if (vlen > INITDATA_MAX_ANNOTATION)
                return coco_error_set(err, E2BIG,
                                      "initdata annotation is %zu bytes, over the %u byte limit",
                                      vlen, INITDATA_MAX_ANNOTATION);
        r = base64_decode(value, vlen, &gz, &gz_len, err);
        if (r < 0)
                return coco_error_wrap(err, r,
                                       "initdata annotation is not standard base64 of gzip data");
        r = initdata_gunzip(gz, gz_len, INITDATA_MAX_TOML, &toml, &toml_len, err);
        if (r < 0)
                return r;
        return finish(toml, toml_len, TAKE_PTR(gz), gz_len, ret, err);
}

int initdata_from_file(const char *path, struct initdata **ret, struct coco_error **err)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        _cleanup_free_ uint8_t *buf = NULL;
        struct stat st;

        if (fd < 0)
                return coco_error_set(err, errno, "initdata file \"%s\": %s", path,
                                      strerror(errno));
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
                return coco_error_set(err, EINVAL, "initdata file \"%s\" is not a regular file",
                                      path);
        if ((uint64_t)st.st_size > INITDATA_MAX_TOML)
                return coco_error_set(err, E2BIG, "initdata file \"%s\" is over %u bytes", path,
                                      INITDATA_MAX_TOML);
        buf = xmalloc((size_t)st.st_size + 1);
        int r = read_full(fd, buf, (size_t)st.st_size);
        if (r < 0)
                return coco_error_set(err, r, "reading initdata file \"%s\": %s", path,
                                      strerror(-r));
        r = initdata_from_toml(buf, (size_t)st.st_size, ret, err);
        if (r < 0)
                return coco_error_wrap(err, r, "\"%s\"", path);
        return 0;
}

int initdata_from_disk(const void *image, size_t len, struct initdata **ret,
                       struct coco_error **err)
{
        const uint8_t *p = image;
        uint8_t *toml = NULL;
        size_t toml_len;
        uint64_t gz_len = 0;

        if (len < INITDATA_DISK_HEADER || memcmp(p, INITDATA_DISK_MAGIC, 8) != 0)
                return coco_error_set(err, EINVAL, "initdata disk: no \"initdata\" magic");
        for (int i = 7; i >= 0; i--)
                gz_len = gz_len << 8 | p[8 + i];
        if (gz_len == 0 || gz_len > len - INITDATA_DISK_HEADER)
                return coco_error_set(err, EINVAL,
                                      "initdata disk: payload length %llu does not fit the %zu "
                                      "byte image",
                                      (unsigned long long)gz_len, len);
        int r = initdata_gunzip(p + INITDATA_DISK_HEADER, (size_t)gz_len, INITDATA_MAX_TOML, &toml,
                                &toml_len, err);
        if (r < 0)
                return coco_error_wrap(err, r, "initdata disk");
        return finish(toml, toml_len, xmemdup(p + INITDATA_DISK_HEADER, (size_t)gz_len),
                      (size_t)gz_len, ret, err);
}

void initdata_launch_field(const struct initdata *id, uint8_t *out, size_t size)
{
        memset(out, 0, size);
        memcpy(out, id->digest, id->digest_len < size ? id->digest_len : size);
}

void initdata_disk_image(const struct initdata *id, uint8_t **ret_image, size_t *ret_len)
{
        size_t len = INITDATA_DISK_HEADER + id->gz_len;
        len = (len + INITDATA_SECTOR - 1) / INITDATA_SECTOR * INITDATA_SECTOR;
        uint8_t *img = xcalloc(1, len);
        uint64_t n = id->gz_len;

        memcpy(img, INITDATA_DISK_MAGIC, 8);
        for (int i = 0; i < 8; i++)
                img[8 + i] = (uint8_t)(n >> (8 * i));
        memcpy(img + INITDATA_DISK_HEADER, id->gz, id->gz_len);
        *ret_image = img;
        *ret_len = len;
}

const char *initdata_file(const struct initdata *id, const char *name)
{
        const struct toml_entry *e = toml_get(id->doc, "data", name);
        return e ? e->value : NULL;
}
