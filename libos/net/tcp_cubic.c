/* Congestion avoidance and the reaction to a loss by CUBIC (RFC 9438), as Linux's default: a loss takes the window
 * to 0.7 of the flight (not half, as Reno), and between losses the window grows as a cubic function of the time
 * since the last one: quickly back toward the window where the loss happened (W_max), flat around it, then faster
 * again beyond it. Where Reno would have grown faster (short round trips, small windows: a LAN), the window follows
 * Reno's estimate instead (the Reno-friendly region, 4.3). Slow start and the recovery itself (PRR, NewReno) are
 * the caller's.
 *
 * Integers only (no FPU in the kernel's paths): windows in bytes, times in ms, the constants as fractions. */
#include "tcp.h"

#define BETA_NUM 7                      /* beta_cubic = 0.7 (4.6) */
#define BETA_DEN 10
#define C_NUM 4                         /* C = 0.4 segments/s^3 (4.2) */
#define C_DEN 10
#define ALPHA_NUM 9                     /* alpha_cubic = 3(1 - beta)/(1 + beta) = 9/17 (4.3) */
#define ALPHA_DEN 17
#define EST_SHIFT 10                    /* Reno's estimate keeps this many bits of fraction */
#define MAX_ELAPSED_MS 100000u          /* (t - K)^3 stays within 64 bits; the window is at its cap long before */

/* The integer cube root, rounded down. */
static uint64_t cube_root(uint64_t x)
{
	uint64_t r = 0;
	for (int shift = 63; shift >= 0; shift -= 3) {
		r <<= 1;
		uint64_t b = 3 * r * (r + 1) + 1;       /* (r + 1)^3 - r^3: what the next bit adds, in units of 2^shift */
		if ((x >> shift) >= b) {
			x -= b << shift;
			r++;
		}
	}
	return r;
}

/* W_cubic(t) (4.2), in bytes, t in ms since the epoch began. */
static uint64_t w_cubic(const struct uf_tcp *t, uint64_t elapsed_ms)
{
	const struct tcp_cubic *c = &t->cubic;
	uint64_t d = elapsed_ms > c->k_ms ? elapsed_ms - c->k_ms : c->k_ms - elapsed_ms;
	if (d > MAX_ELAPSED_MS)
		d = MAX_ELAPSED_MS;
	/* C * (t - K)^3 segments, t and K in seconds: d^3 ms^3 = d^3 / 1e9 s^3. */
	uint64_t delta = C_NUM * t->mss * (d * d * d / 1000) / (C_DEN * 1000000ull);
	if (elapsed_ms >= c->k_ms)
		return c->w_max + delta;
	return c->w_max > delta ? c->w_max - delta : 0;
}

void uf_tcp_cc_congestion(struct uf_tcp *t)
{
	struct tcp_cubic *c = &t->cubic;
	uint32_t flight = t->snd_max - t->snd_una;
	/* Fast convergence (4.7): a loss below the last W_max means others took bandwidth: give some up. */
	c->w_max = c->w_max && t->cwnd < c->w_max ? (uint32_t)((uint64_t)t->cwnd * (BETA_DEN + BETA_NUM) /
							     (2 * BETA_DEN)) : t->cwnd;
	c->cwnd_prior = t->cwnd;
	c->epoch_ns = 0;                        /* the next epoch starts when congestion avoidance resumes */
	uint32_t reduced = (uint32_t)((uint64_t)flight * BETA_NUM / BETA_DEN);
	t->ssthresh = reduced > 2u * t->mss ? reduced : 2u * t->mss;
}

/* A new epoch, at the first ACK of congestion avoidance: K is the time W_cubic takes from here back to W_max. */
static void start_epoch(struct uf_tcp *t, uint64_t now)
{
	struct tcp_cubic *c = &t->cubic;
	c->epoch_ns = now ? now : 1;
	c->last_ack_ns = now;
	c->acc = 0;
	c->est = (uint64_t)t->cwnd << EST_SHIFT;
	if (c->w_max <= t->cwnd) {              /* no loss yet, or grown past it already: convex from here */
		c->w_max = t->cwnd;
		c->k_ms = 0;
		return;
	}
	/* K = cbrt((W_max - cwnd_epoch) / C) s, the difference in segments: in ms, cbrt(bytes / mss / C * 1e9). */
	c->k_ms = (uint32_t)cube_root((uint64_t)(c->w_max - t->cwnd) * C_DEN * 1000000000ull / (C_NUM * t->mss));
}

/* Time spent limited by the application or idle does not count toward t (RFC 9438 5.8; Linux shifts its epoch
 * the same way when sending resumes after idle): the window resumes its curve where it left it. */
void uf_tcp_cc_app_limited(struct uf_tcp *t, uint64_t now)
{
	struct tcp_cubic *c = &t->cubic;
	if (c->epoch_ns) {
		c->epoch_ns += now - c->last_ack_ns;
		c->last_ack_ns = now;
	}
}

void uf_tcp_cc_ack(struct uf_tcp *t, uint32_t acked, uint64_t now)
{
	struct tcp_cubic *c = &t->cubic;
	if (!c->epoch_ns)
		start_epoch(t, now);
	if (now - c->last_ack_ns > t->srtt + TCP_RTO_MIN)
		c->epoch_ns += now - c->last_ack_ns;    /* idle (nothing in flight to acknowledge) since the last */
	c->last_ack_ns = now;
	uint64_t elapsed_ms = (now - c->epoch_ns) / MS;
	/* Reno's window over the same time (4.3): alpha segments a round trip until past the window of the last loss,
	 * one after. */
	uint64_t grow = ((uint64_t)acked * t->mss << EST_SHIFT) / t->cwnd;
	c->est += c->est >> EST_SHIFT >= c->cwnd_prior ? grow : grow * ALPHA_NUM / ALPHA_DEN;
	uint64_t est = c->est >> EST_SHIFT;
	if (w_cubic(t, elapsed_ms) < est) {
		if (est > t->cwnd)
			t->cwnd = est > 2u * TCP_BUF_MAX ? 2u * TCP_BUF_MAX : (uint32_t)est;
		return;
	}
	/* Concave and convex regions (4.4, 4.5): toward W_cubic one round trip ahead, at most 1.5 times the window. */
	uint64_t target = w_cubic(t, elapsed_ms + t->srtt / MS);
	if (target > t->cwnd + (uint64_t)t->cwnd / 2)
		target = t->cwnd + (uint64_t)t->cwnd / 2;
	if (target <= t->cwnd)
		return;
	/* (target - cwnd) / cwnd segments per segment acknowledged: the remainder carries over. */
	c->acc += (target - t->cwnd) * acked;
	uint64_t add = c->acc / t->cwnd;
	c->acc -= add * t->cwnd;
	t->cwnd += (uint32_t)add;
}
