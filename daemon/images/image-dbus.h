/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* image-dbus.h — org.abiquo.Node1.Images, .Image and .Job on the bus */
#pragma once

#include "images/job.h"
#include "manager.h"

typedef struct Images {
        Manager *manager;
        JobQueue *queue;
} Images;

/* Publishes the interfaces and removes what killed workers left in the datastore. */
int images_start(Manager *m);
Images *images_free(Images *i);
