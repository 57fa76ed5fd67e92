/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* main.c — aimd: command line, configuration, and the event loop that everything runs on */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "images/image-dbus.h"
#include "shared/errors.h"
#include "shared/log.h"
#include "manager.h"
#include "util/strv.h"

typedef struct Args {
        const char *config_file;
        const char *uri, *repository, *datastore, *state_dir;
        const char *bus;
} Args;

static void help(void) {
        printf("Usage: aimd [OPTIONS]\n"
               "The node agent of a virtualization host: publishes org.abiquo.Node1 on D-Bus.\n\n"
               "  -h --help                 Show this help and exit\n"
               "  -v --version              Show the version and exit\n"
               "  -c --config-file=FILE     Configuration file (default %s)\n"
               "  -u --uri=URI              libvirt connection URI ([monitor] uri)\n"
               "  -r --repository=DIR       Shared image repository ([rimp] repository)\n"
               "  -s --datastore=DIR        Local datastore ([rimp] datastore)\n"
               "     --state-dir=DIR        Where persisted state lives (default /var/lib/aim)\n"
               "     --bus=system|session|ADDRESS\n"
               "                            Bus to serve on (default system)\n"
               "     --log-level=LEVEL      debug, info, notice, warning or err (default info)\n"
               "  -p --port=PORT            Obsolete: aimd is reached over D-Bus\n"
               "  -d --daemon               Obsolete: aimd stays in the foreground under systemd\n",
               CONFIG_FILE_DEFAULT);
}

static int parse_log_level(const char *s) {
        static const char * const names[] = {
                [LOG_ERR] = "err", [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
                [LOG_INFO] = "info", [LOG_DEBUG] = "debug",
        };

        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (names[i] && streq(names[i], s))
                        return (int) i;
        return -EINVAL;
}

/* Returns 1 to go on, 0 to exit successfully (help, version), < 0 on a usage error. */
static int parse_argv(int argc, char *argv[], Args *args) {
        enum { ARG_BUS = 0x100, ARG_STATE_DIR, ARG_LOG_LEVEL };
        static const struct option options[] = {
                { "help",        no_argument,       NULL, 'h' },
                { "version",     no_argument,       NULL, 'v' },
                { "config-file", required_argument, NULL, 'c' },
                { "uri",         required_argument, NULL, 'u' },
                { "repository",  required_argument, NULL, 'r' },
                { "datastore",   required_argument, NULL, 's' },
                { "port",        required_argument, NULL, 'p' },
                { "daemon",      no_argument,       NULL, 'd' },
                { "bus",         required_argument, NULL, ARG_BUS },
                { "state-dir",   required_argument, NULL, ARG_STATE_DIR },
                { "log-level",   required_argument, NULL, ARG_LOG_LEVEL },
                {}
        };
        int c, level;

        while ((c = getopt_long(argc, argv, "hvc:u:r:s:p:d", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case 'v':
                        printf("aimd %s\n", AIMD_VERSION);
                        return 0;
                case 'c':
                        args->config_file = optarg;
                        break;
                case 'u':
                        args->uri = optarg;
                        break;
                case 'r':
                        args->repository = optarg;
                        break;
                case 's':
                        args->datastore = optarg;
                        break;
                case 'p':
                        log_notice("Option --port is ignored: aimd is reached over D-Bus, it listens on no TCP port.");
                        break;
                case 'd':
                        log_notice("Option --daemon is ignored: aimd stays in the foreground, systemd supervises it.");
                        break;
                case ARG_BUS:
                        args->bus = optarg;
                        break;
                case ARG_STATE_DIR:
                        args->state_dir = optarg;
                        break;
                case ARG_LOG_LEVEL:
                        level = parse_log_level(optarg);
                        if (level < 0)
                                return log_error_errno(level, "Invalid --log-level '%s'.", optarg);
                        log_set_max_level(level);
                        break;
                default:
                        return -EINVAL;
                }
        if (optind < argc)
                return log_error_errno(-EINVAL, "Unexpected argument '%s'; see --help.", argv[optind]);
        return 1;
}

/* A command-line value over the file's; option names it for the error of a relative directory. */
static int override(char **field, const char *value, const char *option) {
        if (!value)
                return 0;
        if (option && value[0] != '/')
                return log_error_errno(-EINVAL, "%s must be an absolute path, not '%s'.", option, value);
        return free_and_strdup(field, value) < 0 ? log_oom() : 0;
}

static const char *config_path(const Args *args) {
        return args->config_file ?: CONFIG_FILE_DEFAULT;
}

/* Loads the configuration file (its notices logged) under the command line's values; logs why not. */
static int load_config(Config *c, const Args *args) {
        _cleanup_free_ char *error = NULL;
        int r;

        r = config_load(c, config_path(args), !args->config_file, &error);
        if (r < 0) {
                if (error)
                        log_error("%s", error);
                else
                        log_error_errno(r, "Failed to read %s: %m", config_path(args));
                return r;
        }
        for (char **n = c->notices; n && *n; n++)
                log_notice("%s", *n);

        r = override(&c->uri, args->uri, NULL);
        if (r >= 0)
                r = override(&c->repository, args->repository, "--repository");
        if (r >= 0)
                r = override(&c->datastore, args->datastore, "--datastore");
        if (r >= 0)
                r = override(&c->state_dir, args->state_dir, "--state-dir");
        return r;
}

typedef struct Daemon {
        Manager *manager;
        const Args *args;
} Daemon;

/* SIGHUP: the configuration file is read again. What can change in a running daemon takes effect
 * (config_reload() says which keys); every other changed key is logged as waiting for a restart. A
 * file that does not load leaves the running configuration as it was. */
static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Daemon *d = userdata;
        Config *c = &d->manager->config;
        _cleanup_(config_done) Config next = {};
        _cleanup_strv_free_ char **pending = NULL;
        unsigned max_jobs = c->max_jobs;
        int r;

        log_info("Reloading %s (SIGHUP).", config_path(d->args));
        r = config_init(&next);
        if (r >= 0)
                r = load_config(&next, d->args);
        if (r >= 0)
                r = config_reload(c, &next, &pending);
        if (r < 0) {
                log_warning_errno(r, "Reload failed, the running configuration stays: %m");
                return 0;
        }
        if (c->max_jobs != max_jobs) {
                log_info("[rimp] maxJobs is now %u (was %u).", c->max_jobs, max_jobs);
                if (d->manager->images)
                        job_queue_set_max_running(d->manager->images->queue, c->max_jobs);
        }
        for (char **p = pending; p && *p; p++)
                log_notice("%s changed in %s: it takes effect when aimd restarts.", *p, config_path(d->args));
        return 0;
}

/* SIGUSR1, SIGUSR2, SIGALRM mean nothing to aimd; their default action would kill it (and a job
 * with it). Taken by the event loop rather than SIG_IGN, which children would inherit across exec. */
static int on_ignored_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        log_info("Ignoring %s from pid %u.", strsignal((int) si->ssi_signo), si->ssi_pid);
        return 0;
}

static int watch_signals(Daemon *d) {
        static const int ignored[] = { SIGUSR1, SIGUSR2, SIGALRM };
        sd_event *e = d->manager->event;
        int r;

        /* SIGTERM and SIGINT end the loop (sd-event's default); before any thread exists, so that
         * every thread has them blocked and none takes one with its default action. */
        r = sd_event_add_signal(e, NULL, SIGTERM | SD_EVENT_SIGNAL_PROCMASK, NULL, NULL);
        if (r >= 0)
                r = sd_event_add_signal(e, NULL, SIGINT | SD_EVENT_SIGNAL_PROCMASK, NULL, NULL);
        if (r >= 0)
                r = sd_event_add_signal(e, NULL, SIGHUP | SD_EVENT_SIGNAL_PROCMASK, on_sighup, d);
        for (size_t i = 0; i < ELEMENTSOF(ignored) && r >= 0; i++)
                r = sd_event_add_signal(e, NULL, ignored[i] | SD_EVENT_SIGNAL_PROCMASK, on_ignored_signal, NULL);
        return r;
}

static int run(int argc, char *argv[]) {
        _cleanup_(manager_freep) Manager *m = NULL;
        Args args = { .bus = "system" };
        Daemon d = { .args = &args };
        int r;

        r = parse_argv(argc, argv, &args);
        if (r <= 0)
                return r;

        r = errors_register();
        if (r < 0)
                return log_error_errno(r, "Failed to register the error map: %m");
        r = manager_new(&m);
        if (r < 0)
                return log_error_errno(r, "Failed to set up: %m");
        r = load_config(&m->config, &args);
        if (r < 0)
                return r;

        (void) signal(SIGPIPE, SIG_IGN);
        d.manager = m;
        r = watch_signals(&d);
        if (r < 0)
                return log_error_errno(r, "Failed to watch signals: %m");
        r = sd_event_set_watchdog(m->event, true);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the watchdog: %m");

        r = manager_start(m, args.bus);
        if (r < 0)
                return r;

        (void) sd_notify(false, "READY=1\nSTATUS=Serving org.abiquo.Node1.");
        log_info("aimd %s serving %s.", AIMD_VERSION, NODE_BUS_NAME);

        r = sd_event_loop(m->event);
        (void) sd_notify(false, "STOPPING=1\nSTATUS=Shutting down.");
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m");
        if (r != 0)
                log_error("Exiting with status %i (the bus connection was lost).", r);
        return r == 0 ? 0 : -ECONNRESET;
}

int main(int argc, char *argv[]) {
        return run(argc, argv) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
