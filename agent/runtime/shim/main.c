// SPDX-License-Identifier: Apache-2.0
/* gannet-shim: per-container process that runs `runc create`, owns the
 * container's stdio (timestamped into the log file) and records its exit
 * status. Started only by the runtime library (agent/runtime/container.c),
 * which documents the protocol. */
#include "agent/runtime/internal.h"

int main(int argc, char **argv)
{
	return rt_shim_exec_main(argc, argv);
}
