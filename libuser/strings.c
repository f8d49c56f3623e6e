// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Names of statuses and messages for errors.
 */
#include <string.h>

#include "internal.h"

static const char *const status_names[] = {
	[FASTRPC_OK]			= "OK",
	[FASTRPC_CANCELLED]		= "CANCELLED",
	[FASTRPC_UNKNOWN]		= "UNKNOWN",
	[FASTRPC_INVALID_ARGUMENT]	= "INVALID_ARGUMENT",
	[FASTRPC_DEADLINE_EXCEEDED]	= "DEADLINE_EXCEEDED",
	[FASTRPC_NOT_FOUND]		= "NOT_FOUND",
	[FASTRPC_ALREADY_EXISTS]	= "ALREADY_EXISTS",
	[FASTRPC_PERMISSION_DENIED]	= "PERMISSION_DENIED",
	[FASTRPC_RESOURCE_EXHAUSTED]	= "RESOURCE_EXHAUSTED",
	[FASTRPC_FAILED_PRECONDITION]	= "FAILED_PRECONDITION",
	[FASTRPC_ABORTED]		= "ABORTED",
	[FASTRPC_OUT_OF_RANGE]		= "OUT_OF_RANGE",
	[FASTRPC_UNIMPLEMENTED]		= "UNIMPLEMENTED",
	[FASTRPC_INTERNAL]		= "INTERNAL",
	[FASTRPC_UNAVAILABLE]		= "UNAVAILABLE",
	[FASTRPC_DATA_LOSS]		= "DATA_LOSS",
	[FASTRPC_UNAUTHENTICATED]	= "UNAUTHENTICATED",
};

FASTRPC_EXPORT const char *fastrpc_status_str(uint32_t status)
{
	if (status >= sizeof(status_names) / sizeof(status_names[0]))
		return "?";
	return status_names[status];
}

FASTRPC_EXPORT const char *fastrpc_strerror(int err)
{
	const char *s;

	if (err < 0)
		err = -err;
	if (err == EAFNOSUPPORT)
		return "Address family not supported (is af_fastrpc loaded?)";
	if (err == EPROTO)
		return "Protocol error (peer is not a compatible FastRPC server)";
	/* glibc's descriptions are static and never "Unknown error %d". */
	s = strerrordesc_np(err);
	return s ? s : "Unknown error";
}
