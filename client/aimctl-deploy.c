/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* aimctl-deploy.c — aimctl deploy FILE [SECTION]: an erp5.recipe.kvm section made into a running machine
 *
 * The recipe turned a buildout section into a kvm command line; this turns the same section into
 * Images.Import (or Images.Pull) and Machines.DefineMachine calls. Everything in the section is
 * checked before the first call, and a mistake names the file, the section and the line. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "aimctl.h"
#include "util/strv.h"

#define DEPLOY_FILE_MAX (1024 * 1024)
#define DEPLOY_NICS_MAX 8
#define GRAPHICS_WAIT_S 60

/* One "key = value" with its continuation lines, each a value of its own (kvm_net, kvm_redir). */
typedef struct Entry {
        char *key;
        char **values;
        unsigned line;
        bool used;
} Entry;

typedef struct DeployNic {
        bool user;
        const char *bridge, *model, *mac;
        char **forwards;
} DeployNic;

typedef struct Deploy {
        const char *file;
        char *section;
        Entry *entries;
        size_t n_entries;

        const char *image;              /* a repository path or a URL */
        bool image_is_url;
        char *image_name;               /* the datastore image the machine boots */
        const char *device;
        const char *md5_download, *md5_image;
        bool gzip, snapshot, vnc;
        const char *bus;
        char *vnc_listen;
        int display;
        const char *vga;
        DeployNic nics[DEPLOY_NICS_MAX];
        size_t n_nics;
        char **forwards;
        unsigned forwards_line;
} Deploy;

static void deploy_done(Deploy *d) {
        for (size_t i = 0; i < d->n_entries; i++) {
                free(d->entries[i].key);
                strv_free(d->entries[i].values);
        }
        free(d->entries);
        free(d->section);
        free(d->image_name);
        free(d->vnc_listen);
        for (size_t i = 0; i < d->n_nics; i++)
                strv_free(d->nics[i].forwards);
        strv_free(d->forwards);
}

static int say_at(const Deploy *d, unsigned line, const char *format, ...) _printf_(3, 4);
static int say_at(const Deploy *d, unsigned line, const char *format, ...) {
        va_list ap;

        fprintf(stderr, "aimctl: %s:%u: [%s] ", d->file, line, d->section ?: "?");
        va_start(ap, format);
        vfprintf(stderr, format, ap);
        va_end(ap);
        fputc('\n', stderr);
        return -EINVAL;
}

static char *strip(char *s) {
        char *e;

        while (isspace((unsigned char) *s))
                s++;
        e = s + strlen(s);
        while (e > s && isspace((unsigned char) e[-1]))
                *--e = 0;
        return s;
}

/* Reads the section (or the only one) into d->entries. */
static int deploy_read(Deploy *d, const char *want) {
        _cleanup_free_ char *text = NULL;
        _cleanup_strv_free_ char **sections = NULL;
        Entry *last = NULL;
        bool in = false;
        unsigned line = 0;
        size_t size = 0;
        FILE *f;
        int r;

        f = fopen(d->file, "re");
        if (!f) {
                fprintf(stderr, "aimctl: %s: %s\n", d->file, strerror(errno));
                return -errno;
        }
        text = malloc(DEPLOY_FILE_MAX + 1);
        if (text)
                size = fread(text, 1, DEPLOY_FILE_MAX + 1, f);
        fclose(f);
        if (!text)
                return -ENOMEM;
        if (size > DEPLOY_FILE_MAX) {
                fprintf(stderr, "aimctl: %s: over %d bytes; not a recipe section\n", d->file, DEPLOY_FILE_MAX);
                return -EFBIG;
        }
        text[size] = 0;

        /* Which section: the one asked for, or the file's only one. */
        for (char *p = text, *nl; p && *p; p = nl) {
                char *s;

                nl = strchr(p, '\n');
                s = strndup(p, nl ? (size_t) (nl - p) : strlen(p));
                if (!s)
                        return -ENOMEM;
                if (s[0] == '[' && strchr(s, ']')) {
                        *strchr(s, ']') = 0;
                        r = strv_extend(&sections, strip(s + 1));
                        if (r < 0) {
                                free(s);
                                return r;
                        }
                }
                free(s);
                if (nl)
                        nl++;
        }
        if (!want) {
                if (!sections || strv_length(sections) != 1) {
                        fprintf(stderr, "aimctl: %s: %zu sections; name the one to deploy:", d->file, strv_length(sections));
                        for (char **s = sections; s && *s; s++)
                                fprintf(stderr, " %s", *s);
                        fputc('\n', stderr);
                        return -EINVAL;
                }
                want = sections[0];
        }
        d->section = NULL;

        for (char *p = text, *nl; p && *p; p = nl) {
                char *eq, *key, *value;

                nl = strchr(p, '\n');
                if (nl)
                        *nl++ = 0;
                line++;
                if (p[0] == '#' || p[0] == ';' || strip(p)[0] == 0)
                        continue;
                if (p[0] == '[') {
                        char *end = strchr(p, ']');

                        if (!end) {
                                fprintf(stderr, "aimctl: %s:%u: a section header without ']'\n", d->file, line);
                                return -EINVAL;
                        }
                        *end = 0;
                        in = streq(strip(p + 1), want);
                        if (in && !d->section && !(d->section = strdup(want)))
                                return -ENOMEM;
                        last = NULL;
                        continue;
                }
                if (!in)
                        continue;
                if (isspace((unsigned char) p[0])) {
                        /* A continuation line: one more value of the key above. */
                        if (!last)
                                return say_at(d, line, "an indented line that continues no key");
                        r = strv_extend(&last->values, strip(p));
                        if (r < 0)
                                return r;
                        continue;
                }
                eq = strchr(p, '=');
                if (!eq)
                        return say_at(d, line, "'%s' is not a 'key = value' line", strip(p));
                if (eq > p && (eq[-1] == '+' || eq[-1] == '-'))
                        return say_at(d, line, "buildout's %c= is not supported here; write the whole value", eq[-1]);
                *eq = 0;
                key = strip(p);
                value = strip(eq + 1);
                if (strstr(value, "${"))
                        return say_at(d, line, "%s: buildout substitutions (${…}) are not supported here", key);
                for (size_t i = 0; i < d->n_entries; i++)
                        if (streq(d->entries[i].key, key))
                                return say_at(d, line, "%s is set twice (first on line %u)", key, d->entries[i].line);

                Entry *entries = reallocarray(d->entries, d->n_entries + 1, sizeof(Entry));
                if (!entries)
                        return -ENOMEM;
                d->entries = entries;
                last = &d->entries[d->n_entries++];
                *last = (Entry) { .key = strdup(key), .line = line };
                if (!last->key)
                        return -ENOMEM;
                if (value[0] && (r = strv_extend(&last->values, value)) < 0)
                        return r;
        }
        if (!d->section) {
                fprintf(stderr, "aimctl: %s: no section [%s]\n", d->file, want);
                return -ENOENT;
        }
        return 0;
}

static Entry *entry(Deploy *d, const char *key) {
        for (size_t i = 0; i < d->n_entries; i++)
                if (streq(d->entries[i].key, key)) {
                        d->entries[i].used = true;
                        return &d->entries[i];
                }
        return NULL;
}

/* The single value of key, or NULL when the key is absent; an error when it has several or none. */
static int single(Deploy *d, const char *key, const char **ret) {
        Entry *e = entry(d, key);

        *ret = NULL;
        if (!e)
                return 0;
        if (strv_length(e->values) != 1)
                return say_at(d, e->line, "%s needs exactly one value, not %zu", key, strv_length(e->values));
        *ret = e->values[0];
        return 1;
}

static int boolean(Deploy *d, const char *key, bool *ret) {
        static const char *const yes[] = { "true", "yes", "on", "1" }, *const no[] = { "false", "no", "off", "0" };
        const char *v;
        int r;

        r = single(d, key, &v);
        if (r <= 0 || !v)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                if (strcasecmp(v, yes[i]) == 0)
                        return *ret = true, 1;
                if (strcasecmp(v, no[i]) == 0)
                        return *ret = false, 1;
        }
        return say_at(d, entry(d, key)->line, "%s must be true or false, not '%s'", key, v);
}

static int md5(Deploy *d, const char *key, const char **ret) {
        const char *v;
        int r;

        r = single(d, key, &v);
        if (r <= 0 || !v)
                return r;
        if (strlen(v) != 32 || strspn(v, "0123456789abcdefABCDEF") != 32)
                return say_at(d, entry(d, key)->line, "%s must be 32 hexadecimal digits, not '%s'", key, v);
        *ret = v;
        return 1;
}

static int port(Deploy *d, unsigned line, const char *what, const char *s, unsigned *ret) {
        char *end;
        unsigned long v;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (!s[0] || *end || errno || v < 1 || v > 65535 || s[0] == '-' || s[0] == '+')
                return say_at(d, line, "%s: '%s' is not a port (1..65535)", what, s);
        *ret = (unsigned) v;
        return 0;
}

/* kvm_redir's "tcp:HOSTPORT:[GUESTADDR]:GUESTPORT" (qemu's -redir) as the spec's "tcp:HOST:GUEST". */
static int parse_redirect(Deploy *d, unsigned line, const char *s) {
        _cleanup_strv_free_ char **parts = NULL;
        _cleanup_free_ char *copy = strdup(s);
        unsigned host = 0, guest = 0;
        char *p, *f;
        int r;

        if (!copy)
                return -ENOMEM;
        /* strtok would merge the empty GUESTADDR field; split by hand. */
        for (p = copy; (f = strsep(&p, ":")); )
                if ((r = strv_extend(&parts, f)) < 0)
                        return r;
        if ((strv_length(parts) != 3 && strv_length(parts) != 4) || (!streq(parts[0], "tcp") && !streq(parts[0], "udp")))
                return say_at(d, line, "kvm_redir: '%s' is not tcp|udp:HOSTPORT::GUESTPORT", s);
        if (strv_length(parts) == 4 && parts[2][0])
                fprintf(stderr, "aimctl: %s:%u: [%s] notice: kvm_redir: the guest address %s is the guest's own "
                        "under user-mode networking; ignored\n", d->file, line, d->section, parts[2]);
        r = port(d, line, "kvm_redir", parts[1], &host);
        if (r >= 0)
                r = port(d, line, "kvm_redir", parts[strv_length(parts) - 1], &guest);
        if (r < 0)
                return r;
        if (asprintf(&f, "%s:%u:%u", parts[0], host, guest) < 0)
                return -ENOMEM;
        return strv_consume(&d->forwards, f);
}

/* kvm_net's qemu -net entries: "nic[,model=M][,macaddr=MAC]" is a guest NIC, "user[,…]" and
 * "bridge,br=NAME" its backend; the n-th NIC takes the n-th backend (or the last one). */
static int parse_net(Deploy *d, Entry *e) {
        const char *models[DEPLOY_NICS_MAX] = {}, *macs[DEPLOY_NICS_MAX] = {};
        DeployNic backends[DEPLOY_NICS_MAX] = {};
        size_t n_nic = 0, n_backend = 0;

        for (char **v = e->values; v && *v; v++) {
                char *opts = strchr(*v, ','), *kind = *v;

                if (opts)
                        *opts++ = 0;
                if (!streq(kind, "nic") && !streq(kind, "user") && !streq(kind, "bridge"))
                        return say_at(d, e->line, "kvm_net: '%s' is not supported (nic, user or bridge)", kind);
                if ((streq(kind, "nic") ? n_nic : n_backend) == DEPLOY_NICS_MAX)
                        return say_at(d, e->line, "kvm_net: more than %d entries of kind %s", DEPLOY_NICS_MAX, kind);
                if (streq(kind, "user"))
                        backends[n_backend] = (DeployNic) { .user = true };
                for (char *o; opts && (o = strsep(&opts, ",")); ) {
                        char *val = strchr(o, '=');

                        if (val)
                                *val++ = 0;
                        if (streq(kind, "nic") && streq(o, "model") && val)
                                models[n_nic] = val;
                        else if (streq(kind, "nic") && streq(o, "macaddr") && val)
                                macs[n_nic] = val;
                        else if (streq(kind, "bridge") && streq(o, "br") && val)
                                backends[n_backend].bridge = val;
                        else if (streq(kind, "nic") && (streq(o, "vlan") || streq(o, "netdev")))
                                continue;       /* pairing: ours is by order */
                        else if (streq(kind, "user") || streq(kind, "nic"))
                                fprintf(stderr, "aimctl: %s:%u: [%s] notice: kvm_net: %s option %s is not supported "
                                        "by libvirt; ignored\n", d->file, e->line, d->section, kind, o);
                        else
                                return say_at(d, e->line, "kvm_net: bridge takes br=NAME, not '%s'", o);
                }
                if (streq(kind, "bridge") && !backends[n_backend].bridge)
                        return say_at(d, e->line, "kvm_net: bridge needs br=NAME");
                if (streq(kind, "nic"))
                        n_nic++;
                else
                        n_backend++;
        }
        if (n_backend == 0)
                backends[n_backend++] = (DeployNic) { .user = true };   /* qemu's default backend */
        d->n_nics = MAX(n_nic, (size_t) 1);
        for (size_t i = 0; i < d->n_nics; i++) {
                d->nics[i] = backends[MIN(i, n_backend - 1)];
                d->nics[i].model = models[i];
                d->nics[i].mac = macs[i];
        }
        return 0;
}

static int parse_vnc(Deploy *d, Entry *e, const char *v) {
        const char *colon = strrchr(v, ':');
        unsigned char buf[sizeof(struct in6_addr)];
        _cleanup_free_ char *addr = NULL;

        d->vnc = true;
        d->display = -1;
        if (colon && strchr(v, ':') == colon) {
                char *end;
                long n;

                errno = 0;
                n = strtol(colon + 1, &end, 10);
                if (!colon[1] || *end || errno || n < 0 || n > 99)
                        return say_at(d, e->line, "kvm_vnc: display '%s' is not 0..99", colon + 1);
                d->display = (int) n;
                addr = strndup(v, (size_t) (colon - v));
        } else
                addr = strdup(v);
        if (!addr)
                return -ENOMEM;
        if (inet_pton(AF_INET, addr, buf) != 1 && inet_pton(AF_INET6, addr, buf) != 1)
                return say_at(d, e->line, "kvm_vnc: '%s' is not IP-ADDRESS[:DISPLAY]", v);
        d->vnc_listen = TAKE_PTR(addr);
        return 0;
}

static const char *base_name(const char *s) {
        const char *slash = strrchr(s, '/');

        return slash ? slash + 1 : s;
}

static int deploy_parse(Deploy *d, const char *datastore, const char *repository) {
        static const char *const buildout_only[] = { "recipe", "location", "ssh_key_path", "ssh_user",
                                                     "ssh_hostname", "kvm_bin_directory", "kvm_run_directory" };
        static const char *const vgas[] = { "std", "cirrus", "qxl", "virtio", "vmvga", "none" };
        const char *file, *v;
        Entry *e;
        int r;

        for (size_t i = 0; i < ELEMENTSOF(buildout_only); i++)
                if ((e = entry(d, buildout_only[i])))
                        fprintf(stderr, "aimctl: %s:%u: [%s] notice: %s is buildout's, not aimd's; ignored\n",
                                d->file, e->line, d->section, e->key);

        if ((r = single(d, "image", &d->image)) < 0 || (r = single(d, "file", &file)) < 0)
                return r;
        if ((r = md5(d, "md5_download", &d->md5_download)) < 0 || (r = md5(d, "md5_image", &d->md5_image)) < 0)
                return r;
        if ((r = boolean(d, "gzip", &d->gzip)) < 0 || (r = boolean(d, "kvm_snapshot", &d->snapshot)) < 0)
                return r;
        if (file && d->image)
                fprintf(stderr, "aimctl: %s:%u: [%s] notice: file is set, so image is not used (as in the recipe)\n",
                        d->file, entry(d, "image")->line, d->section);
        if (file) {
                size_t n = strlen(datastore);

                d->image = NULL;
                if (strncmp(file, "/dev/", 5) == 0) {
                        d->device = file;
                        if (d->md5_image)
                                return say_at(d, entry(d, "md5_image")->line, "md5_image cannot check a device (file = %s)", file);
                } else if ((file[0] != '/' && !strchr(file, '/')) ||
                           (strncmp(file, datastore, n) == 0 && file[n] == '/' && !strchr(file + n + 1, '/'))) {
                        d->image_name = strdup(base_name(file));
                        if (!d->image_name)
                                return -ENOMEM;
                } else
                        return say_at(d, entry(d, "file")->line, "file must be an image in the datastore (%s/NAME) or "
                                      "a block device under /dev, not '%s'", datastore, file);
        } else if (d->image) {
                _cleanup_free_ char *path = NULL;
                const char *name;
                size_t n = strlen(repository);

                d->image_is_url = strncmp(d->image, "http://", 7) == 0 || strncmp(d->image, "https://", 8) == 0;
                if (!d->image_is_url && d->image[0] == '/') {
                        if (strncmp(d->image, repository, n) != 0 || d->image[n] != '/')
                                return say_at(d, entry(d, "image")->line, "image must be a URL or a path in the repository "
                                              "(%s), not '%s'", repository, d->image);
                        d->image += n + 1;
                }
                /* A URL's file name is its path's last segment: never the host's, the query's or the
                 * fragment's. */
                path = strndup(d->image, strcspn(d->image, "?#"));
                if (!path)
                        return -ENOMEM;
                name = d->image_is_url ? strchr(path + strcspn(path, ":") + 3, '/') : path;
                d->image_name = strdup(name ? base_name(name) : "");
                if (!d->image_name)
                        return -ENOMEM;
                n = strlen(d->image_name);
                if (d->gzip && n > 3 && streq(d->image_name + n - 3, ".gz"))
                        d->image_name[n - 3] = 0;
                if (!d->image_name[0])
                        return say_at(d, entry(d, "image")->line, "image '%s' names no file", d->image);
        } else {
                fprintf(stderr, "aimctl: %s: [%s] needs image (a repository path or URL) or file\n", d->file, d->section);
                return -EINVAL;
        }
        if (d->md5_download && !d->image)
                return say_at(d, entry(d, "md5_download")->line, "md5_download checks a download; there is none with file");

        d->bus = "virtio";
        if ((r = single(d, "image_type", &v)) < 0)
                return r;
        if (r > 0 && !streq(v, "drive")) {
                if (strlen(v) != 3 || strncmp(v, "hd", 2) != 0 || v[2] < 'a' || v[2] > 'd')
                        return say_at(d, entry(d, "image_type")->line, "image_type must be drive or hda..hdd, not '%s'", v);
                d->bus = "ide";
        }
        if ((r = single(d, "kvm_vnc", &v)) < 0 || (r > 0 && (r = parse_vnc(d, entry(d, "kvm_vnc"), v)) < 0))
                return r;
        if ((r = single(d, "kvm_graphic", &d->vga)) < 0)
                return r;
        if (d->vga) {
                bool known = false;

                for (size_t i = 0; i < ELEMENTSOF(vgas); i++)
                        known = known || streq(d->vga, vgas[i]);
                if (!known)
                        return say_at(d, entry(d, "kvm_graphic")->line, "kvm_graphic must be std, cirrus, qxl, virtio, "
                                      "vmvga or none, not '%s'", d->vga);
        }

        e = entry(d, "kvm_net");
        if (e && !e->values)
                return say_at(d, e->line, "kvm_net has no entries");
        if ((r = e ? parse_net(d, e) : 0) < 0)
                return r;
        if (!e) {
                d->nics[0] = (DeployNic) { .user = true };
                d->n_nics = 1;
        }
        if ((e = entry(d, "kvm_redir"))) {
                d->forwards_line = e->line;
                for (char **x = e->values; x && *x; x++)
                        if ((r = parse_redirect(d, e->line, *x)) < 0)
                                return r;
        }
        if ((r = single(d, "ssh_port", &v)) < 0)
                return r;
        if (r > 0) {
                unsigned p;
                char *f;

                d->forwards_line = d->forwards_line ?: entry(d, "ssh_port")->line;
                if ((r = port(d, entry(d, "ssh_port")->line, "ssh_port", v, &p)) < 0)
                        return r;
                if (asprintf(&f, "tcp:%u:22", p) < 0 || strv_consume(&d->forwards, f) < 0)
                        return -ENOMEM;
        }
        if (d->forwards) {
                size_t i;

                for (i = 0; i < d->n_nics && !d->nics[i].user; i++)
                        ;
                if (i == d->n_nics)
                        return say_at(d, d->forwards_line, "port redirections need a user-mode NIC (kvm_net = user)");
                d->nics[i].forwards = TAKE_PTR(d->forwards);
        }

        for (size_t i = 0; i < d->n_entries; i++)
                if (!d->entries[i].used)
                        return say_at(d, d->entries[i].line, "unknown key '%s'", d->entries[i].key);
        return 0;
}

/* --- the calls ------------------------------------------------------------------------------- */

static int get_string_property(sd_bus *bus, const char *name, char **ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_get_property_string(bus, NODE_BUS_NAME, NODE_OBJECT_PATH, NODE_INTERFACE, name, &error, ret);
        if (r < 0)
                return log_bus_error(r, &error, "Failed to read the node's properties");
        return 0;
}

/* Compares the MD5 of a datastore image, as the client reads it, with md5_image. */
static int check_md5(const Deploy *d, const char *dir, const char *name, const char *key, const char *want) {
        _cleanup_free_ char *path = NULL;
        unsigned char digest[EVP_MAX_MD_SIZE], buf[1 << 16];
        char hex[2 * EVP_MAX_MD_SIZE + 1];
        unsigned n = 0;
        EVP_MD_CTX *ctx;
        ssize_t k;
        int fd;

        if (asprintf(&path, "%s/%s", dir, name) < 0)
                return -ENOMEM;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0) {
                fprintf(stderr, "aimctl: %s: [%s] %s: cannot read %s: %s\n", d->file, d->section, key, path, strerror(errno));
                return -errno;
        }
        ctx = EVP_MD_CTX_new();
        if (!ctx || EVP_DigestInit_ex(ctx, EVP_md5(), NULL) != 1) {
                EVP_MD_CTX_free(ctx);
                close(fd);
                return -ENOMEM;
        }
        while ((k = read(fd, buf, sizeof(buf))) > 0)
                EVP_DigestUpdate(ctx, buf, (size_t) k);
        if (k == 0)
                EVP_DigestFinal_ex(ctx, digest, &n);
        EVP_MD_CTX_free(ctx);
        close(fd);
        if (k < 0) {
                fprintf(stderr, "aimctl: %s: %s\n", path, strerror(errno));
                return -EIO;
        }
        for (unsigned i = 0; i < n; i++)
                snprintf(hex + 2 * i, 3, "%02x", digest[i]);
        if (strcasecmp(hex, want) != 0) {
                fprintf(stderr, "aimctl: %s:%u: [%s] %s: %s has MD5 %s, not %s\n", d->file, entry((Deploy *) d, key)->line,
                        d->section, key, path, hex, want);
                return -EBADMSG;
        }
        printf("%s: %s matches (md5:%s)\n", key, path, hex);
        return 0;
}

/* An image this deploy brought in goes again when the deploy fails after it. */
static void delete_image(sd_bus *bus, const char *name, const char *why) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

        if (sd_bus_call_method(bus, NODE_BUS_NAME, NODE_OBJECT_PATH, IMAGES_INTERFACE, "Delete", &error, NULL,
                               "s", name) < 0)
                (void) log_bus_error(-EIO, &error, "Failed to delete the image again");
        else
                fprintf(stderr, "aimctl: deleted image %s again (%s)\n", name, why);
}

/* Import's checksum covers the repository's file as it is (md5_download); what it unpacks to
 * (md5_image) is checked here afterwards, and an image that fails is deleted again. Pull checks
 * both itself. */
static int fetch_image(sd_bus *bus, const Deploy *d, const char *datastore) {
        _cleanup_free_ char *checksum = NULL, *download = NULL;
        char *argv[4];
        int argc = 0, r;

        if (!d->image)
                return d->md5_image ? check_md5(d, datastore, d->image_name, "md5_image", d->md5_image) : 0;

        argv[argc++] = (char *) "deploy";
        argv[argc++] = (char *) (d->gzip ? "--decompress=auto" : "--decompress=none");
        if (d->image_is_url) {
                if (d->md5_image && asprintf(&checksum, "--checksum=md5:%s", d->md5_image) < 0)
                        return -ENOMEM;
                if (d->md5_download && asprintf(&download, "--download-checksum=md5:%s", d->md5_download) < 0)
                        return -ENOMEM;
                if (checksum)
                        argv[argc++] = checksum;
                if (download)
                        argv[argc++] = download;
                printf("Pulling %s as image %s\n", d->image, d->image_name);
                fflush(stdout);
                return copy_and_wait(bus, "Pull", d->image, d->image_name, argc, argv);
        }

        if (d->md5_download && asprintf(&checksum, "--checksum=md5:%s", d->md5_download) < 0)
                return -ENOMEM;
        if (checksum)
                argv[argc++] = checksum;
        printf("Importing %s as image %s\n", d->image, d->image_name);
        fflush(stdout);
        r = copy_and_wait(bus, "Import", d->image, d->image_name, argc, argv);
        if (r < 0 || !d->md5_image)
                return r;
        r = check_md5(d, datastore, d->image_name, "md5_image", d->md5_image);
        if (r < 0)
                delete_image(bus, d->image_name, "md5_image does not match");
        return r;
}

static int append_nic(sd_bus_message *m, const DeployNic *n) {
        int r;

        r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0 && n->user)
                r = sd_bus_message_append(m, "{sv}", "user", "b", 1);
        if (r >= 0 && n->bridge)
                r = sd_bus_message_append(m, "{sv}", "bridge", "s", n->bridge);
        if (r >= 0 && n->model)
                r = sd_bus_message_append(m, "{sv}", "model", "s", n->model);
        if (r >= 0 && n->mac)
                r = sd_bus_message_append(m, "{sv}", "mac", "s", n->mac);
        if (r >= 0 && n->forwards) {
                r = call_open_entry(m, "forwards", "as");
                if (r >= 0)
                        r = sd_bus_message_append_strv(m, n->forwards);
                r = call_close_n(m, 2, r);
        }
        return call_close_n(m, 1, r);
}

static int append_spec(sd_bus_message *m, const Deploy *d) {
        int r;

        r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0)
                r = sd_bus_message_append(m, "{sv}", "start", "b", 1);
        /* disks: one, from the datastore or a device */
        if (r >= 0)
                r = call_open_entry(m, "disks", "aa{sv}");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "a{sv}");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0)
                r = sd_bus_message_append(m, "{sv}", d->device ? "device" : "image", "s", d->device ?: d->image_name);
        if (r >= 0)
                r = sd_bus_message_append(m, "{sv}", "bus", "s", d->bus);
        if (r >= 0 && d->snapshot)
                r = sd_bus_message_append(m, "{sv}", "snapshot", "b", 1);
        r = call_close_n(m, 4, r);
        if (r >= 0)
                r = call_open_entry(m, "nics", "aa{sv}");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "a{sv}");
        for (size_t i = 0; i < d->n_nics && r >= 0; i++)
                r = append_nic(m, &d->nics[i]);
        r = call_close_n(m, 3, r);
        if (r >= 0 && d->vnc)
                r = sd_bus_message_append(m, "{sv}{sv}{sv}", "graphics", "s", "vnc", "listen", "s", d->vnc_listen,
                                          "display", "i", (int32_t) d->display);
        if (r >= 0 && d->vga)
                r = sd_bus_message_append(m, "{sv}", "vga", "s", d->vga);
        return call_close_n(m, 1, r);
}

/* Waits for the VNC port (the hypervisor picks it at start) and prints how to reach the machine. */
static int print_access(sd_bus *bus, const Deploy *d, const char *path) {
        _cleanup_(table_freep) Table *t = NULL;
        time_t deadline = time(NULL) + GRAPHICS_WAIT_S;
        int r;

        if (d->vnc) {
                for (;;) {
                        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
                        const char *type, *listen = NULL;
                        int32_t p = -1;

                        r = sd_bus_get_property(bus, NODE_BUS_NAME, path, MACHINE_INTERFACE, "Graphics", &error, &reply, "a(ssi)");
                        if (r < 0)
                                return log_bus_error(r, &error, "Failed to read the machine's graphics");
                        r = sd_bus_message_enter_container(reply, 'a', "(ssi)");
                        while (r >= 0 && sd_bus_message_read(reply, "(ssi)", &type, &listen, &p) > 0 && !streq(type, "vnc"))
                                p = -1;
                        if (p >= 0) {
                                printf("VNC: %s:%d (display %d)\n", listen, p, p - 5900);
                                break;
                        }
                        if (time(NULL) >= deadline) {
                                printf("VNC: the port is not known yet; see aimctl machine show %s\n", d->section);
                                break;
                        }
                        usleep(200 * 1000);
                }
        }
        for (size_t i = 0; i < d->n_nics; i++)
                for (char **f = d->nics[i].forwards; f && *f; f++) {
                        const char *guest = strrchr(*f, ':') + 1;

                        printf("Forwarded: %s → guest port %s", *f, guest);
                        if (streq(guest, "22") && strncmp(*f, "tcp:", 4) == 0)
                                printf(" (ssh -p %.*s localhost)", (int) (guest - 1 - (*f + 4)), *f + 4);
                        putchar('\n');
                }
        r = machine_addresses_table(bus, path, "any", &t);
        if (r < 0)
                return r;
        printf("Addresses (any source, right after start; aimctl machine addresses %s for later):\n", d->section);
        return table_print(t, false);
}

int verb_deploy(sd_bus *bus, int argc, char *argv[]) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL, *reply = NULL;
        _cleanup_free_ char *datastore = NULL, *repository = NULL;
        _cleanup_(deploy_done) Deploy d = { .file = argv[1] };
        const char *path;
        int r;

        r = deploy_read(&d, argc > 2 ? argv[2] : NULL);
        if (r < 0)
                return r;
        r = get_string_property(bus, "Datastore", &datastore);
        if (r >= 0)
                r = get_string_property(bus, "Repository", &repository);
        if (r < 0)
                return r;
        r = deploy_parse(&d, datastore, repository);
        if (r < 0)
                return r;

        r = fetch_image(bus, &d, datastore);
        if (r < 0)
                return r;

        r = sd_bus_message_new_method_call(bus, &call, NODE_BUS_NAME, NODE_OBJECT_PATH, MACHINES_INTERFACE, "DefineMachine");
        if (r >= 0)
                r = sd_bus_message_append(call, "s", d.section);
        if (r >= 0)
                r = append_spec(call, &d);
        if (r < 0)
                return log_bus_error(r, NULL, "Failed to build the call");
        r = sd_bus_call(bus, call, 0, &error, &reply);
        if (r < 0) {
                r = log_bus_error(r, &error, "DefineMachine");
                if (d.image)
                        delete_image(bus, d.image_name, "the machine could not be defined");
                return r;
        }
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return log_bus_error(r, NULL, "Failed to parse the reply");
        printf("Machine %s defined and started: %s\n", d.section, path);
        return print_access(bus, &d, path);
}
