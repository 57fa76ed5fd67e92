/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-job.c — the job queue with real aimd-worker processes: maxJobs, queued, Busy, the queue cap, cancel */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "images/job.h"

static char dir[] = "/tmp/test-job.XXXXXX";
static char repo[300], ds[300];

typedef struct Seen {
        unsigned finished;
        JobState states[16];            /* by job id */
        char messages[16][160];
} Seen;

static void on_changed(Job *j, void *userdata) {
}

static void on_finished(Job *j, void *userdata) {
        Seen *seen = userdata;

        seen->finished++;
        if (j->id < ELEMENTSOF(seen->states)) {
                seen->states[j->id] = j->state;
                snprintf(seen->messages[j->id], sizeof(seen->messages[j->id]), "%s", strempty(j->message));
        }
}

static const JobCallbacks callbacks = { on_changed, on_changed, on_finished };

static void write_file(const char *path, const char *content) {
        FILE *f = fopen(path, "we");

        assert_non_null(f);
        fputs(content, f);
        fclose(f);
}

static Job *submit(JobQueue *q, const char *source, const char *name, int expect) {
        WorkerRecord req = {};
        Job *j = NULL;
        char key[300];

        snprintf(key, sizeof(key), "ds/%s", name);
        assert_int_equal(worker_record_add(&req, "name", name), 0);
        assert_int_equal(worker_record_add(&req, "decompress", "none"), 0);
        assert_int_equal(job_submit(q, JOB_IMPORT, repo, source, ds, name, key, &req, &j), expect);
        worker_record_done(&req);
        return j;
}

static void run_until(sd_event *e, Seen *seen, unsigned finished) {
        /* A busy machine may be slow to start processes: a generous cap, no fixed wait. */
        for (unsigned i = 0; i < 1200 && seen->finished < finished; i++)
                assert_true(sd_event_run(e, 100 * 1000) >= 0);
        assert_int_equal(seen->finished, finished);
}

static void assert_published(const char *name, const char *content) {
        char path[400], buf[64] = {};
        int fd;

        snprintf(path, sizeof(path), "%s/%s", ds, name);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(read(fd, buf, sizeof(buf) - 1), (ssize_t) strlen(content));
        assert_string_equal(buf, content);
        close(fd);
}

static void test_queue(void **state) {
        _cleanup_(job_queue_freep) JobQueue *q = NULL;
        sd_event *e = NULL;
        Seen seen = {};
        char path[400];
        Job *a, *b, *c;

        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(job_queue_new(e, 1, &callbacks, &seen, &q), 0);
        a = submit(q, "a.img", "A", 0);
        b = submit(q, "b.img", "B", 0);
        c = submit(q, "c.img", "C", 0);
        /* One job per destination. */
        submit(q, "b.img", "A", -EBUSY);
        assert_ptr_equal(job_queue_busy(q, "ds/A"), a);
        assert_null(job_queue_busy(q, "ds/D"));

        /* maxJobs = 1: one runs, the others wait. */
        job_queue_run(q);
        assert_int_equal(a->state, JOB_RUNNING);
        assert_int_equal(b->state, JOB_QUEUED);
        assert_int_equal(c->state, JOB_QUEUED);
        assert_int_equal(q->n_running, 1);

        /* A queued job is cancelled at once. */
        assert_int_equal(job_cancel(c), 0);
        assert_int_equal(seen.finished, 1);
        assert_int_equal(seen.states[3], JOB_CANCELLED);
        assert_string_equal(seen.messages[3], "Cancelled");
        assert_null(job_queue_busy(q, "ds/C"));

        run_until(e, &seen, 3);
        assert_int_equal(seen.states[1], JOB_DONE);
        assert_int_equal(seen.states[2], JOB_DONE);
        assert_published("A", "alpha");
        assert_published("B", "bravo");
        snprintf(path, sizeof(path), "%s/C", ds);
        assert_int_equal(access(path, F_OK), -1);
        assert_int_equal(q->n_running, 0);
        assert_int_equal(hashmap_size(q->jobs), 0);

        /* A source gone while its job waited fails the job, with the reason. */
        snprintf(path, sizeof(path), "%s/gone.img", repo);
        write_file(path, "x");
        submit(q, "gone.img", "G", 0);
        assert_int_equal(unlink(path), 0);
        job_queue_run(q);
        run_until(e, &seen, 4);
        assert_int_equal(seen.states[4], JOB_FAILED);
        assert_string_equal(seen.messages[4], "Invalid source 'gone.img': does not exist");
        job_queue_free(TAKE_PTR(q));
        sd_event_unref(e);
}

static void test_cap(void **state) {
        _cleanup_(job_queue_freep) JobQueue *q = NULL;
        sd_event *e = NULL;
        Seen seen = {};
        char name[32];

        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(job_queue_new(e, 1, &callbacks, &seen, &q), 0);
        for (unsigned i = 0; i < JOB_QUEUED_MAX; i++) {
                snprintf(name, sizeof(name), "q%u", i);
                submit(q, "a.img", name, 0);
        }
        submit(q, "a.img", "one-too-many", -ENOBUFS);
        assert_int_equal(hashmap_size(q->jobs), JOB_QUEUED_MAX);
        job_queue_free(TAKE_PTR(q));    /* queued jobs hold no fds and no process: nothing to wait for */
        assert_int_equal(seen.finished, 0);
        sd_event_unref(e);
}

/* A worker that cannot be exec'd fails its job saying so (not with the channel's reset). */
static void test_exec_failed(void **state) {
        _cleanup_(job_queue_freep) JobQueue *q = NULL;
        sd_event *e = NULL;
        Seen seen = {};
        char expect[160];

        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(job_queue_new(e, 1, &callbacks, &seen, &q), 0);
        free(q->worker_path);
        assert_true(asprintf(&q->worker_path, "%s/no-such-worker", dir) > 0);
        submit(q, "a.img", "X", 0);
        job_queue_run(q);
        run_until(e, &seen, 1);
        assert_int_equal(seen.states[1], JOB_FAILED);
        snprintf(expect, sizeof(expect), "Failed to execute %s/no-such-worker: No such file or directory", dir);
        assert_string_equal(seen.messages[1], expect);
        job_queue_free(TAKE_PTR(q));
        sd_event_unref(e);
}

static int setup(void **state) {
        char path[400];

        if (!mkdtemp(dir))
                return -1;
        snprintf(repo, sizeof(repo), "%s/repo", dir);
        snprintf(ds, sizeof(ds), "%s/ds", dir);
        if (mkdir(repo, 0755) < 0 || mkdir(ds, 0755) < 0)
                return -1;
        snprintf(path, sizeof(path), "%s/a.img", repo);
        write_file(path, "alpha");
        snprintf(path, sizeof(path), "%s/b.img", repo);
        write_file(path, "bravo");
        snprintf(path, sizeof(path), "%s/c.img", repo);
        write_file(path, "charlie");
        return 0;
}

static int teardown(void **state) {
        char cmd[400];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        return system(cmd) == 0 ? 0 : -1;
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_queue),
                cmocka_unit_test(test_cap),
                cmocka_unit_test(test_exec_failed),
        };

        if (!getenv("AIMD_WORKER")) {
                printf("1..0 # SKIP AIMD_WORKER is not set (meson sets it to the built aimd-worker)\n");
                return 77;
        }
        return cmocka_run_group_tests(tests, setup, teardown);
}
