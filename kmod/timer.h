/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * timer.c: call deadlines, keepalive and idleness.
 */
#ifndef _FRPC_TIMER_H
#define _FRPC_TIMER_H

#include <linux/types.h>

struct frpc_conn;
struct frpc_call;

extern unsigned int frpc_keepalive_ms, frpc_idle_ms, frpc_stall_ms;

void frpc_conn_init_timers(struct frpc_conn *conn);
void frpc_conn_start_timers(struct frpc_conn *conn);
void frpc_conn_stop_timers(struct frpc_conn *conn);
void frpc_conn_drained(struct frpc_conn *conn);
void frpc_call_set_deadline(struct frpc_call *call, u64 timeout_ns);
void frpc_call_clear_deadline(struct frpc_call *call);

#endif /* _FRPC_TIMER_H */
