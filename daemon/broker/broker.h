/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* broker.h — every event of this node appended to a Redis stream, at least once and in order */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "shared/config.h"
#include "util/macro.h"

typedef struct Broker Broker;

/* Starts publishing as c's [monitor] redis* keys say; connecting happens on the loop, later. The
 * numbering continues from <state_dir>/broker-seq. */
int broker_new(sd_event *event, const Config *c, Broker **ret);
/* Records the last seq; events still waiting are lost (the consumer sees the gap). */
Broker *broker_free(Broker *b);
DEFINE_TRIVIAL_CLEANUP_FUNC(Broker *, broker_free);

/* Called when Connected changes. */
void broker_set_on_connected(Broker *b, void (*cb)(Broker *b, void *userdata), void *userdata);

/* The hooks, one next to each signal: each takes a NULL broker (Redis not configured) and does nothing
 * then; they never block and never fail the caller (an event that cannot be kept is counted in
 * Dropped). */
void broker_publish_machine(Broker *b, const char *event, const char *detail, const char *uuid, const char *name);
void broker_publish_job(Broker *b, uint32_t id, const char *type, const char *result, const char *message,
                        const char *source, const char *target);
void broker_publish_vlan(Broker *b, const char *event, const char *interface, const char *parent, uint16_t tag,
                         const char *bridge, const char *operstate);

/* What org.abiquo.Node1.Broker shows. */
const char *broker_address(const Broker *b);
bool broker_connected(const Broker *b);
uint32_t broker_backlog(const Broker *b);
uint64_t broker_published(const Broker *b);
uint64_t broker_dropped(const Broker *b);
const char *broker_last_error(const Broker *b);
/* The bytes the backlog holds now (its entries with their allocation overhead), for the benchmark. */
size_t broker_backlog_bytes(const Broker *b);
