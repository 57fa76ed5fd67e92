/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-define.c — a spec's checks, its names resolved through a fake resolver, and the domain XML:
 * the capabilities' choices, and no value (however hostile) adding an element or attribute */
#include <errno.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "machines/define.h"
#include "shared/errors.h"
#include "util/strv.h"

static const char capabilities[] =
        "<capabilities><host><cpu><arch>x86_64</arch></cpu></host>"
        "<guest><os_type>xen</os_type><arch name='x86_64'><domain type='xen'/></arch></guest>"
        "<guest><os_type>hvm</os_type><arch name='i686'><emulator>/usr/bin/qemu-system-i386</emulator>"
        "<machine>pc-i440fx-7.2</machine><domain type='qemu'/></arch></guest>"
        "<guest><os_type>hvm</os_type><arch name='x86_64'><emulator>/usr/bin/qemu-system-x86_64</emulator>"
        "<machine maxCpus='255'>pc-i440fx-7.2</machine><machine canonical='pc-i440fx-7.2' maxCpus='255'>pc</machine>"
        "<machine maxCpus='288'>pc-q35-7.2</machine><domain type='qemu'/><domain type='kvm'/></arch></guest>"
        "</capabilities>";

static const DefineLimits limits = { .cpus = 4, .memory_kib = 8 * 1024 * 1024, .forwards = true };

/* What a hostile caller would try in a string: close the element, open another, add attributes. */
#define EVIL "x'\"></source><devices><disk type='file'><source file='/etc/shadow'/></disk></devices><a b='"
/* The same without '/', which a network name may not hold. */
#define EVIL_NAME "x'\"><devices><disk type='file'><source file='shadow'><a b='&amp;"

static char **strv_new_for_test(const char *first, ...) {
        char **l = NULL;
        va_list ap;

        va_start(ap, first);
        for (const char *s = first; s; s = va_arg(ap, const char *))
                assert_int_equal(strv_extend(&l, s), 0);
        va_end(ap);
        return l;
}
#define strv_new_for_test(...) strv_new_for_test(__VA_ARGS__, NULL)

static int fake_image(const char *name, void *userdata, char **ret_path, const char **ret_format,
                      char **reterr_message) {
        if (streq(name, "missing")) {
                *reterr_message = strdup("No image 'missing' in the datastore.");
                return -AIM_ENOTFOUND;
        }
        /* A path the resolver hands back is a value like any other. */
        if (asprintf(ret_path, "/data/%s/" EVIL, name) < 0)
                return -ENOMEM;
        *ret_format = "qcow2";
        return 0;
}

static int fake_device(const char *path, void *userdata, char **reterr_message) {
        return 0;
}

static int fake_bridge(const char *name, void *userdata, char **reterr_message) {
        if (streq(name, "br-none")) {
                *reterr_message = strdup("No Linux bridge named br-none.");
                return -AIM_ENOTFOUND;
        }
        return 0;
}

static const DefineResolver resolver = { fake_image, fake_device, fake_bridge };

static DefineDisk *add_disk(DefineSpec *s, const char *image, const char *device) {
        DefineDisk *d;

        s->disks = realloc(s->disks, (s->n_disks + 1) * sizeof(DefineDisk));
        assert_non_null(s->disks);
        d = &s->disks[s->n_disks++];
        *d = (DefineDisk) { .image = image ? strdup(image) : NULL, .device = device ? strdup(device) : NULL };
        return d;
}

static DefineNic *add_nic(DefineSpec *s) {
        DefineNic *n;

        s->nics = realloc(s->nics, (s->n_nics + 1) * sizeof(DefineNic));
        assert_non_null(s->nics);
        n = &s->nics[s->n_nics++];
        *n = (DefineNic) {};
        return n;
}

/* validate, expecting r and a message starting with prefix. */
static void expect_invalid(DefineSpec *s, int r, const char *prefix) {
        _cleanup_free_ char *why = NULL;

        assert_int_equal(define_spec_validate(s, &limits, &why), r);
        assert_non_null(why);
        if (strncmp(why, prefix, strlen(prefix)) != 0)
                fail_msg("expected a message starting with '%s', got '%s'", prefix, why);
}

static void test_names(void **state) {
        assert_true(machine_name_is_valid("web-1.example_+x"));
        assert_false(machine_name_is_valid(""));
        assert_false(machine_name_is_valid(".hidden"));
        assert_false(machine_name_is_valid("-opt"));
        assert_false(machine_name_is_valid("a/b"));
        assert_false(machine_name_is_valid("a b"));
        assert_false(machine_name_is_valid("x\n"));
        assert_true(machine_name_is_valid("0123456789012345678901234567890123456789012345678901234567890123"));
        assert_false(machine_name_is_valid("01234567890123456789012345678901234567890123456789012345678901234"));
}

static void test_validate(void **state) {
        DefineSpec s = DEFINE_SPEC_INIT;
        DefineNic *n;

        assert_int_equal(define_spec_validate(&s, &limits, NULL), 0);
        assert_int_equal(s.vcpus, 1);
        assert_int_equal(s.memory_kib, 524288);
        assert_int_equal(s.max_memory_kib, 524288);

        s.vcpus = 17;
        expect_invalid(&s, -EINVAL, "vcpus: must be 1..16");
        s.vcpus = 16;
        s.memory_kib = 16383;
        expect_invalid(&s, -EINVAL, "memory_kib: must be 16384..8388608");
        s.memory_kib = 65536;
        s.max_memory_kib = 1;
        expect_invalid(&s, -EINVAL, "max_memory_kib: must be at least memory_kib");
        s.max_memory_kib = 0;
        s.uuid = strdup("6d1b2c3a-0000-4000-8000-00000000abcZ");
        expect_invalid(&s, -EINVAL, "uuid: must be a UUID");
        free(s.uuid);
        s.uuid = NULL;

        add_disk(&s, "a.img", NULL);
        add_disk(&s, "b.img", NULL)->bus = strdup("usb");
        expect_invalid(&s, -EINVAL, "disks[1].bus: must be");
        free(s.disks[1].bus);
        s.disks[1].bus = strdup("ide");
        assert_int_equal(define_spec_validate(&s, &limits, NULL), 0);
        add_disk(&s, NULL, "/dev/../etc/shadow");
        expect_invalid(&s, -EINVAL, "disks[2].device: must be an absolute path under /dev");
        free(s.disks[2].device);
        s.disks[2].device = strdup("/dev/sdb");
        s.disks[2].boot_order = 1;
        s.disks[0].boot_order = 1;
        expect_invalid(&s, -EINVAL, "disks[2].boot_order: 1 is given twice");
        s.disks[2].boot_order = 2;

        n = add_nic(&s);
        n->user = true;
        n->forwards = strv_new_for_test("tcp:2222:22", "udp:1:65535", "tcp:1:65536");
        expect_invalid(&s, -EINVAL, "nics[0].forwards[2]: must be tcp:HOSTPORT:GUESTPORT");
        free(n->forwards[2]);
        n->forwards[2] = NULL;
        assert_int_equal(define_spec_validate(&s, &limits, NULL), 0);
        {
                DefineLimits no_passt = limits;
                _cleanup_free_ char *why = NULL;

                no_passt.forwards = false;
                assert_int_equal(define_spec_validate(&s, &no_passt, &why), -AIM_EUNSUPP);
                assert_non_null(strstr(why, "nics[0].forwards"));
        }
        n = add_nic(&s);
        n->bridge = strdup("br0");
        n->mac = strdup("01:00:5e:00:00:01");
        expect_invalid(&s, -EINVAL, "nics[1].mac: must be a unicast MAC address");
        free(n->mac);
        n->mac = strdup("52:54:00:12:34:5g");
        expect_invalid(&s, -EINVAL, "nics[1].mac");
        free(n->mac);
        n->mac = strdup("52:54:00:12:34:56");
        n->network = strdup("default");
        expect_invalid(&s, -EINVAL, "nics[1]: exactly one of");
        free(n->network);
        n->network = NULL;

        s.listen = strdup("127.0.0.1");
        expect_invalid(&s, -EINVAL, "listen: needs graphics");
        s.graphics = strdup("vnc");
        s.display = 100;
        expect_invalid(&s, -EINVAL, "display: must be 0..99");
        s.display = 5;
        s.cmdline = strdup("console=ttyS0\n");
        expect_invalid(&s, -EINVAL, "cmdline: needs a kernel");
        s.kernel = strdup("vmlinuz");
        expect_invalid(&s, -EINVAL, "cmdline: at most 4096 bytes, no control characters");
        s.cmdline[strlen(s.cmdline) - 1] = 0;
        assert_int_equal(define_spec_validate(&s, &limits, NULL), 0);
        define_spec_done(&s);
}

static void test_resolve(void **state) {
        DefineSpec s = DEFINE_SPEC_INIT;
        _cleanup_free_ char *why = NULL;

        add_disk(&s, "a.img", NULL);
        add_disk(&s, "missing", NULL);
        assert_int_equal(define_spec_validate(&s, &limits, NULL), 0);
        assert_int_equal(define_spec_resolve(&s, &resolver, NULL, &why), -AIM_ENOTFOUND);
        assert_string_equal(why, "disks[1].image: No image 'missing' in the datastore.");
        free(why);
        why = NULL;
        free(s.disks[1].image);
        s.disks[1].image = strdup("b.img");
        add_nic(&s)->bridge = strdup("br-none");
        assert_int_equal(define_spec_resolve(&s, &resolver, NULL, &why), -AIM_ENOTFOUND);
        assert_string_equal(why, "nics[0].bridge: No Linux bridge named br-none.");
        define_spec_done(&s);
}

static char *value(xmlXPathContext *ctx, const char *expr) {
        xmlXPathObject *o = xmlXPathEvalExpression((const xmlChar *) expr, ctx);
        char *s;

        assert_non_null(o);
        xmlChar *t = xmlXPathCastToString(o);

        s = strdup(t ? (const char *) t : "");
        xmlFree(t);
        xmlXPathFreeObject(o);
        return s;
}

static void assert_value(xmlXPathContext *ctx, const char *expr, const char *want) {
        _cleanup_free_ char *got = value(ctx, expr);

        if (!streq(got, want))
                fail_msg("%s: expected '%s', got '%s'", expr, want, got);
}

static void test_xml(void **state) {
        /* XPath → its string value (a count() as its number). */
        static const char *const expected[][2] = {
                /* The host's arch, kvm over qemu, the alias of the machine type. */
                { "/domain/@type", "kvm" },
                { "/domain/os/type/@arch", "x86_64" },
                { "/domain/os/type/@machine", "pc" },
                { "/domain/devices/emulator", "/usr/bin/qemu-system-x86_64" },
                { "/domain/name", "web" },
                { "/domain/vcpu", "2" },
                { "/domain/memory", "131072" },
                { "/domain/currentMemory", "65536" },
                /* Every hostile value is exactly the text it was. */
                { "/domain/os/cmdline", "</cmdline><devices><disk/></devices><cmdline a='b'>&amp;&lt;" EVIL },
                { "/domain/os/kernel", "/data/vmlinuz/" EVIL },
                { "/domain/devices/disk[1]/source/@file", "/data/root.img/" EVIL },
                { "/domain/devices/interface[1]/source/@network", EVIL_NAME },
                /* … and added nothing: the elements and attributes are exactly those we made. */
                { "count(//*)", "46" },
                { "count(//@*)", "51" },
                { "count(/domain/devices/disk)", "3" },
                { "count(//source[@file='/etc/shadow'])", "0" },
                { "/domain/devices/disk[1]/target/@dev", "sda" },
                { "/domain/devices/disk[1]/target/@bus", "sata" },
                { "/domain/devices/disk[1]/boot/@order", "1" },
                { "/domain/devices/disk[1]/driver/@name", "qemu" },
                { "/domain/devices/disk[1]/driver/@type", "qcow2" },
                { "/domain/devices/disk[1]/driver/@cache", "none" },
                { "/domain/devices/disk[2]/target/@dev", "vda" },
                { "count(/domain/devices/disk[2]/transient)", "1" },
                { "/domain/devices/disk[3]/@type", "block" },
                { "/domain/devices/disk[3]/source/@dev", "/dev/sdb" },
                { "/domain/devices/disk[3]/driver/@type", "raw" },
                { "count(/domain/devices/disk[3]/readonly)", "1" },
                { "/domain/devices/interface[2]/@type", "user" },
                { "/domain/devices/interface[2]/backend/@type", "passt" },
                { "/domain/devices/interface[2]/portForward[2]/@proto", "udp" },
                { "/domain/devices/interface[2]/portForward[2]/range/@start", "5353" },
                { "/domain/devices/interface[2]/portForward[2]/range/@to", "53" },
                { "/domain/devices/interface[3]/source/@bridge", "br0" },
                { "/domain/devices/interface[3]/model/@type", "virtio" },
                { "/domain/devices/graphics/@type", "spice" },
                { "/domain/devices/graphics/@autoport", "yes" },
                { "/domain/devices/graphics/listen/@address", "::1" },
                { "/domain/devices/video/model/@type", "vga" },
        };
        DefineSpec s = DEFINE_SPEC_INIT;
        _cleanup_free_ char *xml = NULL, *why = NULL;
        DefineNic *n;
        xmlDoc *doc;
        xmlXPathContext *ctx;

        s.vcpus = 2;
        s.memory_kib = 65536;
        s.max_memory_kib = 131072;
        add_disk(&s, "root.img", NULL)->bus = strdup("sata");
        add_disk(&s, "data.img", NULL)->snapshot = true;
        add_disk(&s, NULL, "/dev/sdb")->readonly = true;
        n = add_nic(&s);
        n->network = strdup(EVIL_NAME); /* a network name may hold quotes and angle brackets */
        n = add_nic(&s);
        n->user = true;
        n->forwards = strv_new_for_test("tcp:2222:22", "udp:5353:53");
        add_nic(&s)->bridge = strdup("br0");
        s.graphics = strdup("spice");
        s.listen = strdup("::1");
        s.vga = strdup("std");
        s.kernel = strdup("vmlinuz");
        s.initrd = strdup("initrd.img");
        s.cmdline = strdup("</cmdline><devices><disk/></devices><cmdline a='b'>&amp;&lt;" EVIL);
        assert_int_equal(define_spec_validate(&s, &limits, NULL), 0);
        assert_int_equal(define_spec_resolve(&s, &resolver, NULL, NULL), 0);
        assert_int_equal(define_build_xml(&s, "web", capabilities, &xml, &why), 0);
        if (getenv("TEST_DEFINE_SHOW"))
                fputs(xml, stderr);

        doc = xmlReadMemory(xml, (int) strlen(xml), "d.xml", NULL, XML_PARSE_NONET);
        assert_non_null(doc);
        ctx = xmlXPathNewContext(doc);
        assert_non_null(ctx);
        for (size_t i = 0; i < ELEMENTSOF(expected); i++)
                assert_value(ctx, expected[i][0], expected[i][1]);
        xmlXPathFreeContext(ctx);
        xmlFreeDoc(doc);
        define_spec_done(&s);
}

static void test_capabilities(void **state) {
        DefineSpec s = DEFINE_SPEC_INIT;
        _cleanup_free_ char *xml = NULL, *why = NULL;

        assert_int_equal(define_spec_validate(&s, &limits, NULL), 0);
        assert_int_equal(define_build_xml(&s, "x", "<capabilities><guest><os_type>xen</os_type>"
                                          "<arch name='x86_64'><domain type='xen'/></arch></guest></capabilities>",
                                          &xml, &why), -AIM_EUNSUPP);
        assert_non_null(strstr(why, "hvm"));
        free(why);
        why = NULL;
        assert_int_equal(define_build_xml(&s, "x", "<not-capabilities/>", &xml, &why), -EBADMSG);
        free(why);
        why = NULL;
        assert_int_equal(define_build_xml(&s, "x", "<capabilities", &xml, &why), -EBADMSG);
        free(why);
        why = NULL;
        /* No host arch: the first hvm guest; no machine type, no emulator: none written. */
        assert_int_equal(define_build_xml(&s, "x", "<capabilities><guest><os_type>hvm</os_type>"
                                          "<arch name='aarch64'><domain type='test'/></arch></guest></capabilities>",
                                          &xml, &why), 0);
        assert_non_null(strstr(xml, "<type arch=\"aarch64\">hvm</type>"));
        assert_null(strstr(xml, "emulator"));
        assert_null(strstr(xml, "<driver name"));
        define_spec_done(&s);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_names),
                cmocka_unit_test(test_validate),
                cmocka_unit_test(test_resolve),
                cmocka_unit_test(test_xml),
                cmocka_unit_test(test_capabilities),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
