/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* virt-names.h — libvirt's states, lifecycle events and their details as the names of the D-Bus API */
#pragma once

#include <stdint.h>

/* "running", "shutoff", … for a virDomainState; NULL when out of range. */
const char *machine_state_to_string(int state);
/* The MachineEvent event name ("defined", "stopped", …) of a virDomainEventType; NULL when out of range. */
const char *machine_event_to_string(int event);
/* libvirt's detail of that event in lower case ("booted", "destroyed", …); "unknown" for a detail this
 * libvirt is newer than us about, NULL for an unknown event. */
const char *machine_event_detail_to_string(int event, int detail);

/* The virDomainState a lifecycle event leaves the domain in (stopped → shutoff, …), -EINVAL for the
 * events that change no state (defined, undefined). Following the events rather than asking libvirt
 * afterwards keeps State in step with the events even when the domain has moved on meanwhile. */
int machine_state_after_event(int event);

/* The event that leads into a state, and the state's reason as its detail, for transitions that
 * happened while nobody was listening (the daemon was disconnected): the state running with reason
 * booted gives started/booted. Returns -EINVAL for a state no event leads to (nostate, blocked). */
int machine_event_for_state(int state, int reason, const char **ret_event, const char **ret_detail);

/* The delay before reconnect attempt number attempt (0-based): doubling from base, capped. */
uint64_t reconnect_backoff_usec(unsigned attempt, uint64_t base, uint64_t cap);
