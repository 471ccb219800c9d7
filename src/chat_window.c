/*
 * chat_window.c - the file store's retry window (see chat_window.h): a
 * set-associative table of recently stored messages, pure and in memory.
 */
#include "config.h"

#include <stdlib.h>

#include "chat_window.h"

struct chat_window {
	struct chat_window_entry e[CHAT_WINDOW_SETS][CHAT_WINDOW_WAYS];
};

struct chat_window *
chat_window_new(void)
{
	return calloc(1, sizeof(struct chat_window));
}

void
chat_window_free(struct chat_window *w)
{
	free(w);
}

/* FNV-1a over the key, then splitmix64's finaliser to spread the bits
 * the set index is taken from. */
uint64_t
chat_window_hash(const char *key, size_t len)
{
	uint64_t h = 14695981039346656037ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)key[i];
		h *= 1099511628211ULL;
	}
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebULL;
	h ^= h >> 31;
	return h;
}

static size_t
chat_window_set(uint64_t hash)
{
	return (size_t)((hash >> 32) % CHAT_WINDOW_SETS);
}

const struct chat_window_entry *
chat_window_find(const struct chat_window *w, uint64_t hash, int64_t now_ms,
    unsigned window_ms)
{
	const struct chat_window_entry *set = w->e[chat_window_set(hash)];
	const struct chat_window_entry *best = NULL;
	int64_t age;

	for (int i = 0; i < CHAT_WINDOW_WAYS; i++) {
		if (set[i].seq == 0 || set[i].hash != hash)
			continue;
		age = now_ms - set[i].ms;
		if (age > (int64_t)window_ms || age < -(int64_t)window_ms)
			continue;
		if (best == NULL || set[i].seq > best->seq)
			best = &set[i];
	}
	return best;
}

void
chat_window_add(struct chat_window *w, const struct chat_window_entry *e)
{
	struct chat_window_entry *set = w->e[chat_window_set(e->hash)];
	struct chat_window_entry *old = &set[0];

	for (int i = 1; i < CHAT_WINDOW_WAYS && old->seq != 0; i++)
		if (set[i].seq < old->seq)
			old = &set[i];
	if (old->seq < e->seq)		/* never an older one over newer */
		*old = *e;
}
