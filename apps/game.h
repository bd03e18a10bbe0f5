/* tern-game's parts: options (tern_game.c), the tick server
 * (game_server.c) and the client simulator (game_client.c). */
#ifndef TN_GAME_H
#define TN_GAME_H

#include <stdbool.h>
#include <stdint.h>

#include <tern/dataplane.h>

#include "feed_msg.h" /* tn_feed_clock_ns: the messages' clock */
#include "game_msg.h"

#define GAME_PROG "tern-game"
#define GAME_MAX_CLIENTS 16384 /* the ephemeral port range's size */
#define GAME_CHUNK 64          /* datagrams sent per loop turn: one TX burst */

struct game_opts {
	bool client;
	double tick_hz;
	double duration; /* client: seconds of inputs (0: until a signal) */
	bool quiet;
	/* server */
	uint16_t port;
	unsigned max_clients;
	uint64_t timeout_ns;
	unsigned world, view;
	/* client */
	uint32_t server; /* network order */
	uint16_t server_port;
	unsigned clients;
};

extern struct game_opts game_opt;

intptr_t game_server_main(struct tn_stack *st);
intptr_t game_client_main(struct tn_stack *st);

/* CLOCK_MONOTONIC once per loop turn: every datagram a turn delivers
 * arrived in that turn's receive phase, so all of them get the first
 * reading taken after it, not a later one that includes the time other
 * tasks ran before theirs (and thousands of receiving tasks do not read
 * the clock thousands of times). */
static inline uint64_t game_turn_clock_ns(void)
{
	static __thread uint64_t turn, ns;

	if (tn_now() != turn || !ns) {
		turn = tn_now();
		ns = tn_feed_clock_ns();
	}
	return ns;
}

#endif
