/* The sender's SACK scoreboard (RFC 6675): what the peer's SACK blocks say it holds above snd_una, as sorted,
 * merged ranges. From it: which holes are lost (IsLost: more than 2 segments' worth SACKed above), how much is
 * in the network (pipe), and what to retransmit next (NextSeg rules 1 and 3). tcp_input.c feeds it; the
 * recovery in tcp_output.c reads it. */
#include "tcp.h"

/* Takes a SACK block (start at or above the cumulative ACK), merging it with the ranges it touches. */
void uf_tcp_sack_add(struct uf_tcp *t, uint32_t start, uint32_t end)
{
	if (!SEQ_LT(start, end) || SEQ_GT(end, t->snd_max))
		return;                     /* nonsense, or data we never sent: ignored */
	uint32_t s[TCP_SCOREBOARD + 1], e[TCP_SCOREBOARD + 1];
	int n = 0, placed = 0;
	for (int i = 0; i < t->sack_count; i++) {
		uint32_t a = t->sack_start[i], b = t->sack_end[i];
		if (SEQ_LT(b, start)) {                 /* wholly below the new block */
			s[n] = a, e[n++] = b;
		} else if (SEQ_GT(a, end)) {            /* wholly above: the new block goes first */
			if (!placed)
				s[n] = start, e[n++] = end, placed = 1;
			s[n] = a, e[n++] = b;
		} else {                                /* touches it: merge into the new block */
			start = SEQ_LT(a, start) ? a : start;
			end = SEQ_GT(b, end) ? b : end;
		}
	}
	if (!placed)
		s[n] = start, e[n++] = end;
	if (n > TCP_SCOREBOARD)
		n = TCP_SCOREBOARD;     /* full: the highest range goes (the lowest holes matter first) */
	for (int i = 0; i < n; i++)
		t->sack_start[i] = s[i], t->sack_end[i] = e[i];
	t->sack_count = n;
}

/* After snd_una moved: ranges now acknowledged go. */
void uf_tcp_sack_trim(struct uf_tcp *t)
{
	int k = 0;
	for (int i = 0; i < t->sack_count; i++) {
		if (SEQ_LE(t->sack_end[i], t->snd_una))
			continue;
		t->sack_start[k] = SEQ_LT(t->sack_start[i], t->snd_una) ? t->snd_una : t->sack_start[i];
		t->sack_end[k++] = t->sack_end[i];
	}
	t->sack_count = k;
}

uint32_t uf_tcp_sacked(const struct uf_tcp *t)
{
	uint32_t n = 0;
	for (int i = 0; i < t->sack_count; i++)
		n += t->sack_end[i] - t->sack_start[i];
	return n;
}

/* Where the lost region ends: every hole below it has more than 2 MSS SACKed above it (IsLost); snd_una when
 * none. */
static uint32_t lost_end(const struct uf_tcp *t)
{
	if (t->rack_end && SEQ_GT(t->rack_end, t->snd_una))
		return t->rack_end;         /* the probe timer found them all lost */
	uint32_t above = 0;
	for (int i = t->sack_count - 1; i >= 0; i--) {
		above += t->sack_end[i] - t->sack_start[i];
		if (above > 2u * t->mss)
			return t->sack_start[i];
	}
	return t->snd_una;
}


/* Hole bytes in [from, to). */
static uint32_t hole_bytes(const struct uf_tcp *t, uint32_t from, uint32_t to)
{
	uint32_t n = 0, at = t->snd_una;
	for (int i = 0; i <= t->sack_count && SEQ_LT(at, to); i++) {
		uint32_t hole_end = i < t->sack_count ? t->sack_start[i] : to;
		uint32_t a = SEQ_LT(at, from) ? from : at, b = SEQ_GT(hole_end, to) ? to : hole_end;
		if (SEQ_LT(a, b))
			n += b - a;
		if (i < t->sack_count)
			at = t->sack_end[i];
	}
	return n;
}

/* Bytes in holes that count as lost; nonzero exactly when IsLost(snd_una). */
uint32_t uf_tcp_sack_lost(const struct uf_tcp *t)
{
	return hole_bytes(t, t->snd_una, lost_end(t));
}

/* RFC 6675 SetPipe: each byte sent and not SACKed counts once unless it is lost, and once more if this
 * recovery retransmitted it. */
uint32_t uf_tcp_pipe(const struct uf_tcp *t)
{
	uint32_t lost = uf_tcp_sack_lost(t);
	uint32_t resent = SEQ_GT(t->high_rxt, t->snd_una) ? hole_bytes(t, t->snd_una, t->high_rxt) : 0;
	return t->snd_max - t->snd_una - uf_tcp_sacked(t) - lost + resent;
}

/* NextSeg: the first hole byte at or above high_rxt and below the lost region's end (rule 1) or, with
 * rule3, below the highest SACKed byte. Returns the length to send from *seq (at most one MSS), 0 if none. */
uint32_t uf_tcp_sack_next(const struct uf_tcp *t, uint32_t *seq, int rule3)
{
	if (!t->sack_count)
		return 0;
	uint32_t limit = rule3 ? t->sack_end[t->sack_count - 1] : lost_end(t);
	uint32_t at = SEQ_GT(t->high_rxt, t->snd_una) ? t->high_rxt : t->snd_una;
	for (int i = 0; i < t->sack_count && SEQ_LT(at, limit); i++) {
		if (SEQ_LT(at, t->sack_start[i])) {
			uint32_t end = SEQ_LT(t->sack_start[i], limit) ? t->sack_start[i] : limit;
			*seq = at;
			return end - at < t->mss ? end - at : t->mss;
		}
		if (SEQ_LT(at, t->sack_end[i]))
			at = t->sack_end[i];
	}
	return 0;
}

/* For a resend from seq (after a timeout): past a SACKed range seq lies in; *room is how much may be sent
 * before the next SACKed range begins. */
uint32_t uf_tcp_sack_skip(const struct uf_tcp *t, uint32_t seq, uint32_t *room)
{
	*room = UINT32_MAX;
	for (int i = 0; i < t->sack_count; i++) {
		if (SEQ_LT(seq, t->sack_start[i])) {
			*room = t->sack_start[i] - seq;
			break;
		}
		if (SEQ_LT(seq, t->sack_end[i]))
			seq = t->sack_end[i];
	}
	return seq;
}

void uf_tcp_sack_mark_rxt(struct uf_tcp *t, uint32_t seq)
{
	if (t->rxt_marks == TCP_RXT_MARKS)
		return;                 /* past these, a lost retransmission waits for the timeout */
	t->rxt_seq[t->rxt_marks] = seq;
	t->rxt_snd_max[t->rxt_marks++] = t->snd_max;
}

static int sacked_at(const struct uf_tcp *t, uint32_t seq)
{
	for (int i = 0; i < t->sack_count; i++)
		if (SEQ_GE(seq, t->sack_start[i]) && SEQ_LT(seq, t->sack_end[i]))
			return 1;
	return 0;
}

/* A retransmission lost too (RACK's insight, RFC 8985 6.2, for the in-order paths of a LAN): more than 2 MSS
 * SACKed of what was sent after it, and it still missing. Then NextSeg starts again from it (high_rxt moves back),
 * instead of the retransmission timer's 200 ms or more. Returns whether it found one. */
int uf_tcp_sack_rxt_lost(struct uf_tcp *t)
{
	int k = 0;
	for (int i = 0; i < t->rxt_marks; i++)       /* forget those that arrived */
		if (SEQ_GE(t->rxt_seq[i], t->snd_una) && !sacked_at(t, t->rxt_seq[i])) {
			t->rxt_seq[k] = t->rxt_seq[i];
			t->rxt_snd_max[k++] = t->rxt_snd_max[i];
		}
	t->rxt_marks = k;
	if (!k)
		return 0;
	uint32_t after = t->rxt_snd_max[0], above = 0;
	for (int i = 0; i < t->sack_count; i++)
		if (SEQ_GT(t->sack_end[i], after))
			above += t->sack_end[i] - (SEQ_GT(t->sack_start[i], after) ? t->sack_start[i] : after);
	if (above <= 2u * t->mss)
		return 0;
	t->high_rxt = t->rxt_seq[0];
	t->rxt_marks = 0;
	return 1;
}
