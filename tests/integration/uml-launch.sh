#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# uml-launch.sh UML ARGS...: execs User-Mode Linux on one CPU, ahead of the machine's other work.
# Run it under setsid (the session is UML's autogroup); its pid stays UML's.
#
# Every syscall of the guest is a ptrace round trip between host processes: the UML kernel and the
# guest process. Spread over two busy CPUs each round trip costs far more: test-faults, beside three
# CPU-bound processes, took 182 s and 243 CPU-seconds (207 of them in the host's kernel); pinned
# to one CPU, 110 CPU-seconds (209 s: it then shared that CPU with the hogs), and 96 s with the
# autogroup ahead as below. On a quiet machine the one CPU costs nothing (57 s and 56 s). The last
# CPU this process may use is taken.
#
# Ahead: nice -10 (AIM_UML_NICE) for UML's processes, and the same for its autogroup. With the
# kernel's autogroups on (sched_autogroup_enabled), each session shares the CPUs equally with every
# other session, whatever its processes' nice values, so that nice -10 alone did nothing.
# Measured: on a busy machine (load average 15) the load test did 53 calls/s at nice -10, and did
# not finish in 600 s at nice 0.
set -euo pipefail
cpus=$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/self/status)
level=${AIM_UML_NICE:--10}
if [ -w /proc/self/autogroup ]; then
        echo "$level" > /proc/self/autogroup 2>/dev/null || echo "uml-launch: autogroup nice $level refused" >&2
fi
exec taskset -c "${cpus##*[,-]}" nice -n "$level" "$@"
