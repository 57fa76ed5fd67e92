/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* broker-dbus.h — org.abiquo.Node1.Broker: where events go beyond this host, and how it goes */
#pragma once

#include "manager.h"

/* Publishes the interface and, when [monitor] redisHost is set, starts the broker (m->broker). */
int broker_start(Manager *m);
