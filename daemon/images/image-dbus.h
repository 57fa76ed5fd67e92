/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* image-dbus.h — org.abiquo.Node1.Images on the root object, and one org.abiquo.Node1.Image per image */
#pragma once

#include <sys/types.h>
#include <time.h>

#include "images/job.h"
#include "manager.h"
#include "util/hashmap.h"

#define IMAGES_ACTION "org.abiquo.node1.manage-images"

typedef struct Images {
        Manager *manager;
        JobQueue *queue;
        Hashmap *cache;                 /* name → Image: what reads of the Image objects answer from */
} Images;

/* An image of the datastore as the bus sees it, cached: a stat of the file tells whether it is
 * still what was read (then its header need not be read again for Format). */
typedef struct Image {
        Images *images;
        char *name;
        uint64_t size, allocated;
        const char *format;             /* NULL: not read since the file last changed */
        dev_t dev;
        ino_t ino;
        struct timespec mtime, ctime;
} Image;

/* Publishes the interfaces and removes what killed workers left in the datastore. */
int images_start(Manager *m);
Images *images_free(Images *i);

/* Drops what is cached of image name: aimd changed it (import, delete). */
void image_forget(Images *im, const char *name);
