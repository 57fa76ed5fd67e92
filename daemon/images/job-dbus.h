/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* job-dbus.h — org.abiquo.Node1.Job objects: one per copy job, and the signals of their progress */
#pragma once

#include "images/job.h"

struct Images;

/* What the queue calls (job_queue_new()): PropertiesChanged, JobRemoved, the image's InterfacesAdded. */
extern const JobCallbacks job_bus_callbacks;

/* Publishes the Job objects of im's queue under JOB_PATH_PREFIX. */
int job_bus_publish(struct Images *im);
