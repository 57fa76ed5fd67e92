/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-vlan.c — VLAN validation, conflict detection, rollback and persistence against a fake link table */
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "shared/errors.h"
#include "network/apply.h"
#include "network/checkpoint.h"
#include "network/vlan.h"
#include "test-util.h"

/* The fake kernel: the ops edit the link table the way the kernel's notifications would, and the
 * step numbered fail_at (1-based, counting every op) is refused with fail_errno. */
typedef struct Fake {
        int next_ifindex;
        int calls;
        int fail_at;
        int fail_errno;
        const char *record;     /* when set, every step must find this file (the write-ahead record) */
} Fake;

static int fake_step(Rtnl *n) {
        Fake *f = n->ops_data;

        f->calls++;
        if (f->record)
                assert_int_equal(access(f->record, F_OK), 0);
        return f->fail_at == f->calls ? -f->fail_errno : 0;
}

static int fake_add(Rtnl *n, const char *name, const char *kind, int parent, uint16_t tag, uint32_t mtu,
                    unsigned flags, int *ret_ifindex) {
        Fake *f = n->ops_data;
        Link l = { .ifindex = f->next_ifindex++, .parent = parent, .vlan_id = tag, .mtu = mtu ?: 1500,
                   .flags = flags, .operstate = flags & IFF_UP ? IF_OPER_UP : IF_OPER_DOWN };

        if (link_table_get_by_name(n->links, name))
                return -EEXIST;
        strncpy(l.name, name, sizeof(l.name) - 1);
        strncpy(l.kind, kind, sizeof(l.kind) - 1);
        assert_int_equal(link_table_update(n->links, &l, NULL), 0);
        *ret_ifindex = l.ifindex;
        return 0;
}

static int fake_create_vlan(Rtnl *n, const char *name, int parent, uint16_t tag, uint32_t mtu, int *ret) {
        int r = fake_step(n);

        return r < 0 ? r : fake_add(n, name, "vlan", parent, tag, mtu, 0, ret);
}

static int fake_create_bridge(Rtnl *n, const char *name, uint32_t mtu, bool up, int *ret) {
        int r = fake_step(n);

        return r < 0 ? r : fake_add(n, name, "bridge", 0, 0, mtu, up ? IFF_UP : 0, ret);
}

static int fake_set_link(Rtnl *n, int ifindex, const LinkSettings *s) {
        Link *l = link_table_get(n->links, ifindex), copy;
        int r = fake_step(n);

        if (r < 0)
                return r;
        if (!l)
                return -ENODEV;
        copy = *l;
        if (s->master >= 0)
                copy.master = s->master;
        if (s->mtu > 0)
                copy.mtu = s->mtu;
        if (s->up >= 0)
                copy.flags = s->up ? copy.flags | IFF_UP : copy.flags & ~IFF_UP;
        return link_table_update(n->links, &copy, NULL);
}

static int fake_delete_link(Rtnl *n, int ifindex) {
        Link *l;
        int r = fake_step(n);

        if (r < 0)
                return r;
        if (!link_table_remove(n->links, ifindex, NULL))
                return -ENODEV;
        /* Deleting a bridge releases its ports. */
        HASHMAP_FOREACH(l, n->links->by_index)
                if (l->master == ifindex) {
                        Link copy = *l;

                        copy.master = 0;
                        assert_int_equal(link_table_update(n->links, &copy, NULL), 0);
                }
        return 0;
}

static const RtnlOps fake_ops = {
        .create_vlan = fake_create_vlan,
        .create_bridge = fake_create_bridge,
        .set_link = fake_set_link,
        .delete_link = fake_delete_link,
};

static Fake fake;

static Rtnl *fake_rtnl(void) {
        Rtnl *n;

        assert_int_equal(rtnl_new(&n), 0);
        fake = (Fake) { .next_ifindex = 100 };
        n->ops = &fake_ops;
        n->ops_data = &fake;
        return n;
}

/* A registry over a fake kernel, reg->rtnl. */
static VlanRegistry *fake_registry(void) {
        VlanRegistry *reg;

        assert_int_equal(vlan_registry_new(fake_rtnl(), &reg), 0);
        return reg;
}

static void registry_free(VlanRegistry *reg) {
        Rtnl *n = reg->rtnl;

        vlan_registry_free(reg);
        rtnl_free(n);
}

static void add_link(Rtnl *n, int ifindex, const char *name, const char *kind, int parent, uint16_t tag, int master,
                     bool up) {
        Link l = { .ifindex = ifindex, .parent = parent, .vlan_id = tag, .master = master, .mtu = 1500,
                   .flags = up ? IFF_UP : 0 };

        strcpy(l.name, name);
        strcpy(l.kind, kind);
        assert_int_equal(link_table_update(n->links, &l, NULL), 0);
}

/* A registry on a fake kernel that has eth0 (ifindex 1, up), keeping its records below dir. */
static VlanRegistry *registry_in(const char *dir) {
        VlanRegistry *reg = fake_registry();

        assert_int_equal(vlan_registry_open_state(reg, dir), 0);
        add_link(reg->rtnl, 1, "eth0", "", 0, 0, 0, true);
        return reg;
}

/* The same in a new directory, made from the template dir. */
static VlanRegistry *registry_in_new_dir(char *dir) {
        assert_non_null(mkdtemp(dir));
        return registry_in(dir);
}

/* The table's links below ifindex max as text, in ifindex order, one line each by line(). */
static char *links_text(Rtnl *n, int max, void (*line)(FILE *f, Rtnl *n, const Link *l)) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        for (int i = 1; i < max; i++) {
                Link *l = link_table_get(n->links, i);

                if (l)
                        line(f, n, l);
        }
        fclose(f);
        return buf;
}

static void snapshot_line(FILE *f, Rtnl *n, const Link *l) {
        fprintf(f, "%d %s %s p%d t%u m%d mtu%u %s\n", l->ifindex, l->name, l->kind, l->parent, l->vlan_id, l->master,
                l->mtu, link_is_up(l) ? "up" : "down");
}

/* The table as text, ifindex order: what "nothing changed" is compared by. */
static char *snapshot(Rtnl *n) {
        return links_text(n, 200, snapshot_line);
}

/* The table must read as before: the fake kernel was left as it was found. */
static void assert_unchanged(Rtnl *n, const char *before) {
        char *now = snapshot(n);

        assert_string_equal(now, before);
        free(now);
}

static int validate(VlanSpec spec, char **message) {
        char buf[IFNAMSIZ];

        *message = NULL;
        return vlan_spec_validate(&spec, buf, NULL, message);
}

#define assert_invalid(spec, word) do {                                        \
                char *_m;                                                       \
                assert_int_equal(validate(spec, &_m), -EINVAL);                 \
                assert_non_null(_m);                                            \
                assert_non_null(strstr(_m, word));                              \
                free(_m);                                                       \
        } while (0)

static void test_validate(void **state) {
        char buf[IFNAMSIZ], *m = NULL;
        VlanSpec ok = { .parent = "eth0", .tag = 100, .bridge = "br100" };

        assert_int_equal(vlan_spec_validate(&ok, buf, NULL, &m), 0);
        assert_string_equal(ok.name, "eth0.100");
        assert_int_equal(ok.mtu, 0);

        assert_invalid(((VlanSpec) { .parent = "", .tag = 1, .bridge = "b" }), "parent");
        assert_invalid(((VlanSpec) { .parent = "a/b", .tag = 1, .bridge = "b" }), "parent");
        assert_invalid(((VlanSpec) { .parent = "..", .tag = 1, .bridge = "b" }), "parent");
        assert_invalid(((VlanSpec) { .parent = "eth0", .tag = 0, .bridge = "b" }), "tag");
        assert_invalid(((VlanSpec) { .parent = "eth0", .tag = 4095, .bridge = "b" }), "tag");
        assert_invalid(((VlanSpec) { .parent = "eth0", .tag = 1, .bridge = "b:r" }), "bridge");
        assert_invalid(((VlanSpec) { .parent = "eth0", .tag = 1, .bridge = "b", .name = "x y" }), "option name");
        assert_invalid(((VlanSpec) { .parent = "eth0", .tag = 1, .bridge = "b", .mtu = 0, .mtu_set = true }), "option mtu");
        assert_invalid(((VlanSpec) { .parent = "eth0", .tag = 1, .bridge = "b", .mtu = 67, .mtu_set = true }), "option mtu");
        assert_invalid(((VlanSpec) { .parent = "eth0", .tag = 1, .bridge = "b", .mtu = 65536, .mtu_set = true }), "option mtu");
        /* "<parent>.<tag>" must fit the kernel's 15 bytes: 12 + 1 + 4 does not. */
        assert_invalid(((VlanSpec) { .parent = "abcdefghijkl", .tag = 4094, .bridge = "b" }), "15");
        assert_invalid(((VlanSpec) { .parent = "eth0", .tag = 1, .bridge = "eth0" }), "bridge");
        assert_invalid(((VlanSpec) { .parent = "eth0", .tag = 1, .bridge = "eth0.1" }), "bridge");
        assert_invalid(((VlanSpec) { .parent = "eth0", .tag = 1, .bridge = "b", .name = "eth0" }), "option name");

        /* With an explicit name the long parent is fine. */
        ok = (VlanSpec) { .parent = "abcdefghijkl", .tag = 4094, .bridge = "b", .name = "v4094", .mtu = 9000,
                          .mtu_set = true };
        assert_int_equal(vlan_spec_validate(&ok, buf, NULL, &m), 0);
        assert_int_equal(ok.mtu, 9000);

        assert_int_equal(vlan_id_validate("eth0", 4094, "br", NULL, &m), 0);
        assert_int_equal(vlan_id_validate("eth0", 0, "br", NULL, &m), -EINVAL);
        free(m);
}

static int plan(Rtnl *n, VlanSpec spec, VlanPlan *p, char **message) {
        char buf[IFNAMSIZ];

        assert_int_equal(vlan_spec_validate(&spec, buf, NULL, message), 0);
        return vlan_plan(n->links, &spec, p, message);
}

#define assert_conflict(n, spec, r_expected, word) do {                        \
                VlanPlan _p;                                                    \
                char *_m = NULL;                                                \
                assert_int_equal(plan(n, spec, &_p, &_m), r_expected);          \
                assert_non_null(_m);                                            \
                assert_non_null(strstr(_m, word));                              \
                free(_m);                                                       \
        } while (0)

static void test_conflicts(void **state) {
        Rtnl *n = fake_rtnl();
        VlanPlan p;
        char *m = NULL, *before;

        add_link(n, 1, "eth0", "", 0, 0, 0, true);
        add_link(n, 2, "eth1", "", 0, 0, 0, true);
        add_link(n, 3, "eth0.10", "dummy", 0, 0, 0, false);     /* another kind */
        add_link(n, 4, "eth0.11", "vlan", 2, 11, 0, false);     /* another parent */
        add_link(n, 5, "eth0.12", "vlan", 1, 120, 0, false);    /* another tag */
        add_link(n, 6, "brX", "bridge", 0, 0, 0, true);
        add_link(n, 7, "eth0.13", "vlan", 1, 13, 6, true);      /* a port of another bridge */
        add_link(n, 8, "v14", "vlan", 1, 14, 0, true);          /* tag 14 taken under another name */
        add_link(n, 9, "eth0.15", "vlan", 1, 15, 6, true);      /* exactly as asked below */
        before = snapshot(n);

        assert_conflict(n, ((VlanSpec) { .parent = "eth9", .tag = 10, .bridge = "b" }), -AIM_ENOTFOUND, "eth9");
        assert_conflict(n, ((VlanSpec) { .parent = "eth0", .tag = 10, .bridge = "b" }), -AIM_ECONFLICT, "dummy");
        assert_conflict(n, ((VlanSpec) { .parent = "eth0", .tag = 11, .bridge = "b" }), -AIM_ECONFLICT, "eth1");
        assert_conflict(n, ((VlanSpec) { .parent = "eth0", .tag = 12, .bridge = "b" }), -AIM_ECONFLICT, "tag 120");
        assert_conflict(n, ((VlanSpec) { .parent = "eth0", .tag = 13, .bridge = "b" }), -AIM_ECONFLICT, "brX");
        assert_conflict(n, ((VlanSpec) { .parent = "eth0", .tag = 14, .bridge = "b" }), -AIM_ECONFLICT, "v14");
        assert_conflict(n, ((VlanSpec) { .parent = "eth0", .tag = 20, .bridge = "eth1" }), -AIM_ECONFLICT, "not a bridge");
        assert_conflict(n, ((VlanSpec) { .parent = "eth0", .tag = 20, .bridge = "b", .mtu = 9000, .mtu_set = true }),
                        -EINVAL, "MTU of parent");

        /* As asked: nothing to do. */
        assert_int_equal(plan(n, (VlanSpec) { .parent = "eth0", .tag = 15, .bridge = "brX" }, &p, &m), 0);
        assert_true(vlan_plan_is_noop(&p));
        /* New: everything to do. */
        assert_int_equal(plan(n, (VlanSpec) { .parent = "eth0", .tag = 30, .bridge = "br30" }, &p, &m), 0);
        assert_int_equal(p.vlan, 0);
        assert_int_equal(p.bridge, 0);
        assert_true(p.enslave && p.vlan_up);

        /* Planning changed nothing and called no op. */
        assert_int_equal(fake.calls, 0);
        assert_unchanged(n, before);
        free(before);
        rtnl_free(n);
}

/* Every step of a fresh create fails in turn; each time the table must be as before. */
static void test_rollback_fresh(void **state) {
        for (int step = 1; step <= 3; step++) {
                Rtnl *n = fake_rtnl();
                VlanSpec spec = { .parent = "eth0", .tag = 40, .bridge = "br40" };
                char buf[IFNAMSIZ], *m = NULL, *before;
                VlanUndo undo;
                VlanPlan p;

                add_link(n, 1, "eth0", "", 0, 0, 0, true);
                before = snapshot(n);
                assert_int_equal(vlan_spec_validate(&spec, buf, NULL, &m), 0);
                assert_int_equal(vlan_plan(n->links, &spec, &p, &m), 0);
                fake.fail_at = step;
                fake.fail_errno = EIO;
                assert_int_equal(vlan_plan_apply(n, &spec, &p, &undo, &m), -EIO);
                assert_non_null(m);
                assert_non_null(strstr(m, step == 1 ? "VLAN link" : step == 2 ? "bridge" : "to bridge"));
                assert_int_equal(undo.n, 0);
                assert_unchanged(n, before);
                free(before);
                free(m);
                rtnl_free(n);
        }
}

/* With links that existed (a down bridge, a VLAN outside any bridge): their settings come back. */
static void test_rollback_existing(void **state) {
        Rtnl *n = fake_rtnl();
        VlanSpec spec = { .parent = "eth0", .tag = 41, .bridge = "br41", .mtu = 1400, .mtu_set = true };
        char buf[IFNAMSIZ], *m = NULL, *before;
        VlanUndo undo;
        VlanPlan p;

        add_link(n, 1, "eth0", "", 0, 0, 0, true);
        add_link(n, 2, "br41", "bridge", 0, 0, 0, false);
        add_link(n, 3, "eth0.41", "vlan", 1, 41, 0, false);
        before = snapshot(n);
        assert_int_equal(vlan_spec_validate(&spec, buf, NULL, &m), 0);
        assert_int_equal(vlan_plan(n->links, &spec, &p, &m), 0);
        assert_int_equal(p.vlan, 3);
        assert_int_equal(p.bridge, 2);
        assert_true(p.enslave && p.vlan_up && p.bridge_up);
        assert_int_equal(p.vlan_mtu, 1400);

        fake.fail_at = 2;       /* the bridge was set up (and to 1400); the VLAN step fails */
        fake.fail_errno = EBUSY;
        assert_int_equal(vlan_plan_apply(n, &spec, &p, &undo, &m), -EBUSY);
        assert_unchanged(n, before);
        free(m);

        fake.fail_at = 0;
        assert_int_equal(vlan_plan_apply(n, &spec, &p, &undo, &m), 0);
        assert_int_equal(link_table_get(n->links, 3)->master, 2);
        assert_int_equal(link_table_get(n->links, 3)->mtu, 1400);
        assert_true(link_is_up(link_table_get(n->links, 2)));
        /* The undo log of a success takes it all back too. */
        assert_int_equal(vlan_undo(n, &undo), 0);
        assert_unchanged(n, before);
        free(before);
        rtnl_free(n);
}

static Vlan *create(VlanRegistry *reg, const char *parent, uint16_t tag, const char *bridge, bool *is_new) {
        VlanSpec spec = { .parent = parent, .tag = tag, .bridge = bridge };
        char buf[IFNAMSIZ], *m = NULL;
        Vlan *v = NULL;

        assert_int_equal(vlan_spec_validate(&spec, buf, NULL, &m), 0);
        assert_int_equal(vlan_create(reg, &spec, &v, is_new, &m), 0);
        assert_null(m);
        return v;
}

static void delete(Vlan *v) {
        char *m = NULL;

        assert_int_equal(vlan_delete(v, &m), 0);
        vlan_free(v);
}

static void test_create_delete(void **state) {
        VlanRegistry *reg = fake_registry();
        Rtnl *n = reg->rtnl;
        Link *l, *b;
        bool is_new;
        Vlan *v, *w;
        char *before;

        add_link(n, 1, "eth0", "", 0, 0, 0, true);
        add_link(n, 2, "brpre", "bridge", 0, 0, 0, true);
        add_link(n, 3, "eth0.52", "vlan", 1, 52, 0, false);
        before = snapshot(n);

        v = create(reg, "eth0", 50, "br50", &is_new);
        assert_true(is_new);
        assert_true(v->created_vlan && v->created_bridge);
        l = link_table_get_by_name(n->links, "eth0.50");
        b = link_table_get_by_name(n->links, "br50");
        assert_non_null(l);
        assert_non_null(b);
        assert_int_equal(l->master, b->ifindex);
        assert_int_equal(b->n_ports, 1);
        assert_ptr_equal(vlan_find(reg, "eth0", 50), v);

        /* Again: the same object, no op called. */
        fake.calls = 0;
        assert_ptr_equal(create(reg, "eth0", 50, "br50", &is_new), v);
        assert_false(is_new);
        assert_int_equal(fake.calls, 0);

        /* A second VLAN on the same bridge: the bridge stays until the last one goes. */
        w = create(reg, "eth0", 51, "br50", &is_new);
        assert_false(w->created_bridge);
        delete(v);
        assert_null(link_table_get_by_name(n->links, "eth0.50"));
        assert_non_null(link_table_get_by_name(n->links, "br50"));
        assert_true(w->created_bridge);         /* ownership passed on */
        delete(w);
        assert_null(link_table_get_by_name(n->links, "br50"));

        /* A bridge the daemon did not create is never deleted; an adopted VLAN leaves the bridge, stays. */
        v = create(reg, "eth0", 52, "brpre", &is_new);
        assert_false(v->created_vlan || v->created_bridge);
        delete(v);
        assert_non_null(link_table_get_by_name(n->links, "brpre"));
        assert_int_equal(link_table_get_by_name(n->links, "eth0.52")->master, 0);

        /* Only the "up" the adoption did remains. */
        link_table_get_by_name(n->links, "eth0.52")->flags &= ~IFF_UP;
        assert_unchanged(n, before);
        free(before);
        registry_free(reg);
}

static void test_persistence(void **state) {
        char dir[] = "/tmp/test-vlan.XXXXXX", path[PATH_MAX], *m = NULL;
        VlanRegistry *reg = registry_in_new_dir(dir);
        Rtnl *n = reg->rtnl;
        bool is_new;
        Vlan *v;
        int fd;

        (void) create(reg, "eth0", 60, "br60", &is_new);
        (void) create(reg, "eth0", 61, "br61", &is_new);
        v = create(reg, "eth0", 62, "br62", &is_new);
        delete(v);
        assert_int_equal(vlan_registry_sync(reg), 0);
        snprintf(path, sizeof(path), "%s/network/vlan-eth0.60", dir);
        assert_int_equal(access(path, F_OK), 0);
        snprintf(path, sizeof(path), "%s/network/vlan-eth0.62", dir);
        assert_int_equal(access(path, F_OK), -1);
        /* A temporary file a crash left behind is cleaned up at the next start. */
        snprintf(path, sizeof(path), "%s/network/.#vlan-eth0.99", dir);
        fd = open(path, O_CREAT | O_WRONLY, 0644);
        assert_true(fd >= 0);
        close(fd);
        registry_free(reg);

        /* "Reboot": no VLANs in the kernel; eth0.61's name is taken by a dummy. */
        reg = registry_in(dir);
        n = reg->rtnl;
        add_link(n, 2, "eth0.61", "dummy", 0, 0, 0, true);
        assert_int_equal(vlan_registry_restore(reg), 2);
        assert_int_equal(access(path, F_OK), -1);
        v = vlan_find(reg, "eth0", 60);
        assert_non_null(v);
        assert_null(v->conflict);
        assert_true(v->created_vlan && v->created_bridge);
        assert_int_equal(link_table_get_by_name(n->links, "eth0.60")->master,
                         link_table_get_by_name(n->links, "br60")->ifindex);
        v = vlan_find(reg, "eth0", 61);
        assert_non_null(v);
        assert_non_null(v->conflict);
        assert_non_null(strstr(v->conflict, "dummy"));
        assert_string_equal(link_table_get_by_name(n->links, "eth0.61")->kind, "dummy");
        /* Deleting the conflicting VLAN forgets it and leaves the dummy alone. */
        assert_int_equal(vlan_delete(v, &m), 0);
        vlan_free(v);
        assert_non_null(link_table_get_by_name(n->links, "eth0.61"));
        registry_free(reg);

        assert_int_equal(test_remove_tree(dir), 0);
}

/* kill -9 at any step of a CreateVlan must leave a record of it (which the next start re-applies),
 * never links nobody records: the record is written before the kernel is touched, as making what
 * is missing, and removed again when the call fails. */
static void test_record_ahead(void **state) {
        char dir[] = "/tmp/test-vlan.XXXXXX", path[PATH_MAX], *m = NULL;
        VlanRegistry *reg = registry_in_new_dir(dir);
        Rtnl *n = reg->rtnl;
        bool is_new;
        Vlan *v;

        snprintf(path, sizeof(path), "%s/network/vlan-eth0.70", dir);
        fake.record = path;
        v = create(reg, "eth0", 70, "br70", &is_new);
        assert_true(is_new && v->created_vlan && v->created_bridge);
        assert_int_equal(fake.calls, 3);        /* VLAN link, bridge, enslave: each saw the record */
        fake.record = NULL;

        /* The bridge step fails: the rollback takes the record away too. */
        snprintf(path, sizeof(path), "%s/network/vlan-eth0.71", dir);
        fake.calls = 0;
        fake.fail_at = 2;
        fake.fail_errno = EPERM;
        assert_int_equal(vlan_create(reg, &(VlanSpec) { .parent = "eth0", .tag = 71, .bridge = "br71", .name = "eth0.71" },
                                     &v, &is_new, &m), -EPERM);
        free(m);
        assert_int_equal(access(path, F_OK), -1);
        assert_null(link_table_get_by_name(n->links, "eth0.71"));
        registry_free(reg);

        assert_int_equal(test_remove_tree(dir), 0);
}

static void test_record_parse(void **state) {
        static const char good[] = "name=eth0.5\nparent=eth0\ntag=5\nbridge=br5\nmtu=1400\ncreated-vlan=1\n"
                                   "created-bridge=0\nfuture-key=whatever\n";
        static const char * const bad[] = {
                "name=eth0.5\nparent=eth0\ntag=5x\nbridge=br5\n",          /* trailing junk */
                "name=eth0.5\nparent=eth0\ntag=-5\nbridge=br5\n",          /* a sign */
                "name=eth0.5\nparent=eth0\ntag= 5\nbridge=br5\n",          /* a space */
                "name=eth0.5\nparent=eth0\ntag=\nbridge=br5\n",            /* empty */
                "name=eth0.5\nparent=eth0\ntag=70000\nbridge=br5\n",       /* past uint16 */
                "name=eth0.5\nparent=eth0\ntag=5\nbridge=br5\nmtu=99999999999\n",
                "name=eth0.5\nparent=eth0\ntag=5\n",                          /* no bridge */
                "name=eth0.5\nparent=eth0\ntag=5\nbridge=br5",                /* cut short */
                "name=eth0.5\nparent=0123456789abcdefg\ntag=5\nbridge=br5\n", /* name too long */
                "name=eth0.5\nparent=a/b\ntag=5\nbridge=br5\n",
                "name=eth0.5\nparent=eth0\ntag=5\nbridge=br5\ncreated-vlan=yes\n",
                "name=eth0.5\nno equals sign\n",
        };
        char big[VLAN_RECORD_SIZE_MAX + 64];
        VlanRecord rec;

        assert_int_equal(vlan_record_parse(good, strlen(good), &rec), 0);
        assert_string_equal(rec.name, "eth0.5");       /* in the record's order */
        assert_string_equal(rec.parent, "eth0");
        assert_int_equal(rec.tag, 5);
        assert_string_equal(rec.bridge, "br5");
        assert_int_equal(rec.mtu, 1400);
        assert_true(rec.created_vlan);
        assert_false(rec.created_bridge);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                assert_int_equal(vlan_record_parse(bad[i], strlen(bad[i]), &rec), -EBADMSG);
        /* An embedded NUL, and a file past the size bound. */
        assert_int_equal(vlan_record_parse("name=a\0b\n", 9, &rec), -EBADMSG);
        memset(big, 'x', sizeof(big));
        memcpy(big, good, strlen(good));
        assert_int_equal(vlan_record_parse(big, sizeof(big), &rec), -EBADMSG);
}

static void on_alarm(int sig) {
        fail_msg("restoring the records blocked");
}

/* A symlink among the records used to abort the whole restore (ELOOP), a FIFO to block it in open()
 * forever: both are skipped now, as are directories and oversized files, and the valid records load. */
static void test_restore_not_regular(void **state) {
        char dir[] = "/tmp/test-vlan.XXXXXX", path[PATH_MAX], target[PATH_MAX];
        VlanRegistry *reg = registry_in_new_dir(dir);
        Rtnl *n = reg->rtnl;
        bool is_new;
        FILE *f;

        (void) create(reg, "eth0", 80, "br80", &is_new);
        (void) create(reg, "eth0", 81, "br81", &is_new);
        registry_free(reg);

        snprintf(target, sizeof(target), "%s/network/vlan-eth0.80", dir);
        snprintf(path, sizeof(path), "%s/network/vlan-eth0.82", dir);
        assert_int_equal(symlink(target, path), 0);
        snprintf(path, sizeof(path), "%s/network/vlan-fifo", dir);
        assert_int_equal(mkfifo(path, 0644), 0);
        snprintf(path, sizeof(path), "%s/network/vlan-dir", dir);
        assert_int_equal(mkdir(path, 0755), 0);
        snprintf(path, sizeof(path), "%s/network/vlan-big", dir);
        f = fopen(path, "we");
        assert_non_null(f);
        for (int i = 0; i < 1000; i++)
                fputs("name=eth0.83\n", f);
        fclose(f);

        reg = registry_in(dir);
        n = reg->rtnl;
        signal(SIGALRM, on_alarm);
        alarm(60);
        assert_int_equal(vlan_registry_restore(reg), 2);
        alarm(0);
        assert_non_null(vlan_find(reg, "eth0", 80));
        assert_non_null(vlan_find(reg, "eth0", 81));
        assert_non_null(link_table_get_by_name(n->links, "eth0.81"));
        registry_free(reg);

        assert_int_equal(test_remove_tree(dir), 0);
}

static VlanChange change(VlanAction action, const char *parent, uint16_t tag, const char *bridge) {
        return (VlanChange) { .action = action, .spec = { .parent = parent, .tag = tag, .bridge = bridge } };
}

static void test_changes_validate(void **state) {
        VlanChange c[3];
        char *m = NULL;

        c[0] = change(VLAN_ACTION_CREATE, "eth0", 5, "br5");
        c[1] = change(VLAN_ACTION_DELETE, "eth0", 6, "br6");
        c[2] = change(VLAN_ACTION_CREATE, "eth0", 4095, "br7");
        assert_int_equal(vlan_changes_validate(c, 3, &m), -EINVAL);
        assert_non_null(strstr(m, "changes[2].tag 4095"));
        m = mfree(m);
        c[2] = change(VLAN_ACTION_CREATE, "eth0", 7, "br7");
        c[2].spec.mtu_set = true;
        assert_int_equal(vlan_changes_validate(c, 3, &m), -EINVAL);
        assert_non_null(strstr(m, "changes[2].mtu 0"));
        m = mfree(m);
        c[2] = change(VLAN_ACTION_CREATE, "eth0", 6, "br7");
        assert_int_equal(vlan_changes_validate(c, 3, &m), -EINVAL);
        assert_non_null(strstr(m, "changes[2]: tag 6 on 'eth0' is in changes[1]"));
        m = mfree(m);
        c[2] = change(VLAN_ACTION_CREATE, "eth0", 7, "br7");
        c[2].spec.name = "eth0.5";
        assert_int_equal(vlan_changes_validate(c, 3, &m), -EINVAL);
        assert_non_null(strstr(m, "changes[2].name"));
        m = mfree(m);
        c[2].spec.name = NULL;
        assert_int_equal(vlan_changes_validate(c, 3, &m), 0);
        assert_string_equal(c[0].spec.name, "eth0.5");
        assert_string_equal(vlan_action_to_string(VLAN_ACTION_DELETE), "delete");
        assert_int_equal(vlan_action_from_string("explode"), -EINVAL);
}

static void link_names_line(FILE *f, Rtnl *n, const Link *l) {
        fprintf(f, "%s %s m%s %s\n", l->name, l->kind, l->master ? link_table_get(n->links, l->master)->name : "-",
                link_is_up(l) ? "up" : "down");
}

/* The names of the table's links, sorted: what "as before" means once links were made again. */
static char *link_names(Rtnl *n) {
        return links_text(n, 400, link_names_line);
}

static int run(VlanRegistry *reg, VlanChange *c, size_t n, VlanUndoRecord *undo, size_t *index) {
        char *m = NULL;
        int r;

        assert_int_equal(vlan_changes_validate(c, n, &m), 0);
        assert_int_equal(vlan_changes_prepare(reg, c, n, undo, index, &m), 0);
        r = vlan_changes_apply(reg, c, n, undo, NULL, index, &m);
        free(m);
        return r;
}

/* A batch whose 4th change conflicts leaves nothing; a mixed batch is undone by its undo records. */
static void test_apply_and_undo(void **state) {
        char dir[] = "/tmp/test-vlan.XXXXXX", path[PATH_MAX];
        VlanRegistry *reg = registry_in_new_dir(dir);
        Rtnl *n = reg->rtnl;
        VlanChange c[5];
        VlanUndoRecord undo[5];
        size_t index = 99;
        bool is_new;
        char *before, *now;

        add_link(n, 2, "eth0.13", "dummy", 0, 0, 0, false);
        (void) create(reg, "eth0", 20, "br20", &is_new);
        before = link_names(n);

        for (int i = 0; i < 5; i++)
                c[i] = change(VLAN_ACTION_CREATE, "eth0", 10 + i, "br1x");
        assert_int_equal(run(reg, c, 5, undo, &index), -AIM_ECONFLICT);
        assert_int_equal(index, 3);
        now = link_names(n);
        assert_string_equal(now, before);
        free(now);
        assert_null(vlan_find(reg, "eth0", 10));
        snprintf(path, sizeof(path), "%s/network/vlan-eth0.10", dir);
        assert_int_equal(access(path, F_OK), -1);

        /* create, create on the same bridge, delete of a managed one, delete of one not managed */
        c[0] = change(VLAN_ACTION_CREATE, "eth0", 30, "br30");
        c[1] = change(VLAN_ACTION_CREATE, "eth0", 31, "br30");
        c[2] = change(VLAN_ACTION_DELETE, "eth0", 20, "br20");
        c[3] = change(VLAN_ACTION_DELETE, "eth0", 99, "br99");
        assert_int_equal(run(reg, c, 4, undo, &index), 0);
        assert_non_null(vlan_find(reg, "eth0", 31));
        assert_null(vlan_find(reg, "eth0", 20));
        assert_null(link_table_get_by_name(n->links, "br20"));
        assert_int_equal(undo[0].action, VLAN_ACTION_DELETE);
        assert_int_equal(undo[2].action, VLAN_ACTION_CREATE);
        assert_true(undo[2].record.created_vlan && undo[2].record.created_bridge);
        assert_int_equal(undo[3].action, _VLAN_ACTION_INVALID);
        /* Again: nothing to do, nothing to undo. */
        c[2] = change(VLAN_ACTION_DELETE, "eth0", 20, "br20");
        {
                VlanUndoRecord again[4];

                fake.calls = 0;
                assert_int_equal(run(reg, c, 4, again, &index), 0);
                assert_int_equal(fake.calls, 0);
                assert_int_equal(again[0].action, _VLAN_ACTION_INVALID);
                assert_int_equal(again[2].action, _VLAN_ACTION_INVALID);
        }

        /* The checkpoint's way: undo records written, read back, rolled back. */
        {
                Checkpoint *cp, *back = NULL;
                char *text = NULL;
                size_t size;

                assert_int_equal(checkpoint_new(7, 123456789, reg, c, undo, 4, &cp), 0);
                assert_true(checkpoint_touches(cp, "br30"));
                assert_true(checkpoint_touches(cp, "eth0:20"));
                assert_true(checkpoint_touches(cp, "eth0.31"));
                assert_false(checkpoint_touches(cp, "eth0"));
                assert_int_equal(checkpoint_save(cp, reg->state), 0);
                assert_int_equal(vlan_state_read_file(reg->state, "checkpoint-7", CHECKPOINT_FILE_SIZE_MAX, &text,
                                                      &size), 0);
                assert_int_equal(checkpoint_parse(text, size, &back), 0);
                assert_int_equal(back->id, 7);
                assert_int_equal(back->expires, 123456789);
                assert_int_equal(back->n_changes, 4);
                assert_memory_equal(&back->undo[2], &undo[2], sizeof(VlanUndoRecord));
                {
                        static const char cut[] = "id=7\nexpires=1\nchanges=1\nundo=create a b 5\n";
                        Checkpoint *bad = NULL;

                        assert_int_equal(checkpoint_parse(cut, strlen(cut), &bad), -EBADMSG);
                        assert_null(bad);
                }
                assert_int_equal(vlan_changes_rollback(reg, back->undo, back->n_changes, NULL), 0);
                assert_int_equal(checkpoint_remove(back, reg->state), 0);
                free(text);
                checkpoint_free(back);
                checkpoint_free(cp);
        }
        now = link_names(n);
        assert_string_equal(now, before);
        free(now);
        assert_non_null(vlan_find(reg, "eth0", 20));
        assert_null(vlan_find(reg, "eth0", 30));
        snprintf(path, sizeof(path), "%s/network/vlan-eth0.20", dir);
        assert_int_equal(access(path, F_OK), 0);
        snprintf(path, sizeof(path), "%s/network/checkpoint-7", dir);
        assert_int_equal(access(path, F_OK), -1);
        free(before);
        registry_free(reg);
        assert_int_equal(test_remove_tree(dir), 0);
}

/* Runs the batch through a cursor, max changes a step (undo: a rollback of n records); counts the steps. */
static int run_stepwise(VlanRegistry *reg, VlanChange *c, size_t n, VlanUndoRecord *undo, size_t max,
                        size_t *index, size_t *ret_steps) {
        VlanCursor cursor;
        char *m = NULL;
        size_t steps = 0;
        int r;

        if (c) {
                assert_int_equal(vlan_changes_validate(c, n, &m), 0);
                assert_int_equal(vlan_changes_prepare(reg, c, n, undo, index, &m), 0);
                assert_int_equal(vlan_cursor_init_apply(&cursor, reg, c, n, undo, NULL), 0);
        } else
                assert_int_equal(vlan_cursor_init_rollback(&cursor, reg, undo, n, NULL), 0);
        do {
                r = vlan_cursor_step(&cursor, max, index, &m);
                steps++;
        } while (r == 0);
        if (r < 0)
                assert_non_null(m);
        free(m);
        vlan_cursor_clear(&cursor);
        *ret_steps = steps;
        return r;
}

/* The batch of test_apply_and_undo's shape, one shot: what the kernel looks like after. */
static char *one_shot(VlanChange *c, size_t n, int expect) {
        char dir[] = "/tmp/test-vlan.XXXXXX";
        VlanRegistry *reg = registry_in_new_dir(dir);
        VlanUndoRecord undo[8];
        size_t index;
        char *names;

        add_link(reg->rtnl, 2, "eth0.13", "dummy", 0, 0, 0, false);
        assert_int_equal(run(reg, c, n, undo, &index), expect);
        names = link_names(reg->rtnl);
        registry_free(reg);
        assert_int_equal(test_remove_tree(dir), 0);
        return names;
}

/* The kernel's link names are expected. */
static void assert_links(VlanRegistry *reg, const char *expected) {
        char *now = link_names(reg->rtnl);

        assert_string_equal(now, expected);
        free(now);
}

/* Applied a step at a time (1 or 3 changes), a batch ends as the one-shot does: a failure at change 3
 * takes back changes 2..0 (also a step at a time), a good batch leaves the same links, and its undo
 * records, rolled back stepwise, leave the kernel as before. */
static void test_cursor(void **state) {
        static const size_t maxes[] = { 1, 3 };
        VlanChange bad[5], good[7];
        char *bad_after, *good_after;

        for (int i = 0; i < 5; i++)
                bad[i] = change(VLAN_ACTION_CREATE, "eth0", 10 + i, "br1x");
        for (int i = 0; i < 7; i++)
                good[i] = change(VLAN_ACTION_CREATE, "eth0", 20 + i, i < 4 ? "br2x" : "br2y");
        bad_after = one_shot(bad, 5, -AIM_ECONFLICT);
        good_after = one_shot(good, 7, 0);

        for (size_t k = 0; k < ELEMENTSOF(maxes); k++) {
                char dir[] = "/tmp/test-vlan.XXXXXX";
                VlanRegistry *reg = registry_in_new_dir(dir);
                VlanUndoRecord undo[8];
                size_t index = 99, steps;
                char *before;

                add_link(reg->rtnl, 2, "eth0.13", "dummy", 0, 0, 0, false);
                before = link_names(reg->rtnl);

                /* 3 applied, 1 failed, 3 taken back: 7 steps of one change. */
                assert_int_equal(run_stepwise(reg, bad, 5, undo, maxes[k], &index, &steps), -AIM_ECONFLICT);
                assert_int_equal(index, 3);
                assert_int_equal(steps, (7 + maxes[k] - 1) / maxes[k]);
                assert_links(reg, before);
                assert_links(reg, bad_after);
                assert_null(vlan_find(reg, "eth0", 10));

                assert_int_equal(run_stepwise(reg, good, 7, undo, maxes[k], &index, &steps), 1);
                assert_int_equal(steps, (7 + maxes[k] - 1) / maxes[k]);
                assert_links(reg, good_after);
                assert_non_null(vlan_find(reg, "eth0", 26));

                assert_int_equal(run_stepwise(reg, NULL, 7, undo, maxes[k], &index, &steps), 1);
                assert_int_equal(steps, (7 + maxes[k] - 1) / maxes[k]);
                assert_links(reg, before);
                assert_null(vlan_find(reg, "eth0", 20));

                free(before);
                registry_free(reg);
                assert_int_equal(test_remove_tree(dir), 0);
        }
        free(bad_after);
        free(good_after);
}

static void test_link_table(void **state) {
        LinkTable *t = link_table_new();
        Link a = { .ifindex = 5, .name = "br0", .kind = "bridge", .mtu = 1500 };
        Link p = { .ifindex = 6, .name = "eth0.7", .kind = "vlan", .parent = 2, .vlan_id = 7, .master = 5, .mtu = 1500 };
        unsigned change;

        assert_int_equal(link_table_update(t, &p, &change), 0);    /* port before its bridge, as in a dump */
        assert_int_equal(change, LINK_CHANGE_NEW);
        assert_int_equal(link_table_update(t, &a, NULL), 0);
        link_table_recount_ports(t);
        assert_int_equal(link_table_get(t, 5)->n_ports, 1);
        assert_ptr_equal(link_table_get_vlan(t, 2, 7), link_table_get(t, 6));

        /* A rename moves the name key; an MTU and operstate change are reported. */
        strcpy(p.name, "v7");
        p.mtu = 1400;
        p.operstate = IF_OPER_UP;
        assert_int_equal(link_table_update(t, &p, &change), 0);
        assert_int_equal(change, LINK_CHANGE_NAME | LINK_CHANGE_MTU | LINK_CHANGE_OPERSTATE);
        assert_null(link_table_get_by_name(t, "eth0.7"));
        assert_ptr_equal(link_table_get_by_name(t, "v7"), link_table_get(t, 6));

        /* Leaving the bridge, then going away. */
        p.master = 0;
        assert_int_equal(link_table_update(t, &p, &change), 0);
        assert_int_equal(change, LINK_CHANGE_MASTER);
        assert_int_equal(link_table_get(t, 5)->n_ports, 0);
        assert_true(link_table_remove(t, 6, NULL));
        assert_false(link_table_remove(t, 6, NULL));
        assert_null(link_table_get_vlan(t, 2, 7));
        assert_int_equal(link_table_size(t), 1);
        assert_string_equal(operstate_to_string(IF_OPER_LOWERLAYERDOWN), "lowerlayerdown");
        link_table_free(t);
}

static void test_nl_errors(void **state) {
        assert_int_equal(rtnl_errno_from_nle(0), 0);
        assert_int_equal(rtnl_errno_from_nle(-6 /* NLE_EXIST */), -EEXIST);
        assert_int_equal(rtnl_errno_from_nle(-31 /* NLE_NODEV */), -ENODEV);
        assert_int_equal(rtnl_errno_from_nle(-10 /* NLE_OPNOTSUPP */), -EOPNOTSUPP);
        assert_int_equal(rtnl_errno_from_nle(-1000), -EIO);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_validate),
                cmocka_unit_test(test_conflicts),
                cmocka_unit_test(test_rollback_fresh),
                cmocka_unit_test(test_rollback_existing),
                cmocka_unit_test(test_create_delete),
                cmocka_unit_test(test_persistence),
                cmocka_unit_test(test_record_ahead),
                cmocka_unit_test(test_record_parse),
                cmocka_unit_test(test_restore_not_regular),
                cmocka_unit_test(test_changes_validate),
                cmocka_unit_test(test_apply_and_undo),
                cmocka_unit_test(test_cursor),
                cmocka_unit_test(test_link_table),
                cmocka_unit_test(test_nl_errors),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
