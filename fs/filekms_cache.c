/*
 * filekms_cache.c: the unwrapped-key cache of per-file KMS mode
 * (filekms_cache.h). Entries live in one secmem block (guard pages, mlock, no
 * core dump), wiped on clear and free. A set is chosen by the file id's first
 * bytes — random (§4), so the sets fill evenly and an attacker who names files
 * cannot aim at one.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "filekms_cache.h"
#include "secmem.h"

#define WAYS 8

struct entry {
	uint8_t used;
	uint16_t wlen;
	uint64_t stamp;                          /* last use; 0 = free */
	uint8_t file_id[FORMAT_ID_LEN];
	uint8_t wrapped[FORMAT_HEADER_WRAPPED_MAX];
	uint8_t dk[KEYS_DK_LEN];
};

struct filekms_cache {
	pthread_mutex_t mu;       /* guards everything below */
	unsigned nsets;
	uint64_t clock;           /* use counter for LRU */
	struct entry *e;          /* secmem: nsets * WAYS */
};

int filekms_cache_new(unsigned entries, struct filekms_cache **out)
{
	struct filekms_cache *c = calloc(1, sizeof(*c));

	*out = NULL;
	if (!c)
		return -ENOMEM;
	c->nsets = (entries + WAYS - 1) / WAYS;
	if (!c->nsets)
		c->nsets = 1;
	c->e = secmem_alloc((size_t)c->nsets * WAYS * sizeof(struct entry));
	if (!c->e) {
		free(c);
		return -ENOMEM;
	}
	secmem_wipe(c->e, (size_t)c->nsets * WAYS * sizeof(struct entry));   /* all unused */
	pthread_mutex_init(&c->mu, NULL);
	*out = c;
	return 0;
}

void filekms_cache_free(struct filekms_cache *c)
{
	if (!c)
		return;
	secmem_free(c->e);   /* wipes */
	pthread_mutex_destroy(&c->mu);
	free(c);
}

static struct entry *set_of(struct filekms_cache *c, const uint8_t *file_id)
{
	uint32_t h;

	memcpy(&h, file_id, sizeof(h));
	return &c->e[(size_t)(h % c->nsets) * WAYS];
}

static int matches(const struct entry *e, const uint8_t *file_id, const uint8_t *wrapped,
		   size_t wlen)
{
	return e->used && e->wlen == wlen && !memcmp(e->file_id, file_id, FORMAT_ID_LEN) &&
	       !memcmp(e->wrapped, wrapped, wlen);
}

int filekms_cache_get(struct filekms_cache *c, const uint8_t file_id[FORMAT_ID_LEN],
		      const uint8_t *wrapped, size_t wlen, uint8_t dk[KEYS_DK_LEN])
{
	struct entry *s;
	int ret = -ENOENT;

	if (!c || wlen > FORMAT_HEADER_WRAPPED_MAX)
		return -ENOENT;
	pthread_mutex_lock(&c->mu);
	s = set_of(c, file_id);
	for (int i = 0; i < WAYS; i++) {
		if (matches(&s[i], file_id, wrapped, wlen)) {
			memcpy(dk, s[i].dk, KEYS_DK_LEN);
			s[i].stamp = ++c->clock;
			ret = 0;
			break;
		}
	}
	pthread_mutex_unlock(&c->mu);
	return ret;
}

void filekms_cache_put(struct filekms_cache *c, const uint8_t file_id[FORMAT_ID_LEN],
		       const uint8_t *wrapped, size_t wlen, const uint8_t dk[KEYS_DK_LEN])
{
	struct entry *s, *victim;

	if (!c || wlen > FORMAT_HEADER_WRAPPED_MAX)
		return;
	pthread_mutex_lock(&c->mu);
	s = set_of(c, file_id);
	victim = &s[0];
	for (int i = 0; i < WAYS; i++) {
		/* The same file under an older wrapping: replace it in place. */
		if (s[i].used && !memcmp(s[i].file_id, file_id, FORMAT_ID_LEN)) {
			victim = &s[i];
			break;
		}
		if (!s[i].used || s[i].stamp < victim->stamp)
			victim = &s[i];
		if (!s[i].used)
			break;
	}
	secmem_wipe(victim, sizeof(*victim));
	victim->used = 1;
	victim->wlen = (uint16_t)wlen;
	victim->stamp = ++c->clock;
	memcpy(victim->file_id, file_id, FORMAT_ID_LEN);
	memcpy(victim->wrapped, wrapped, wlen);
	memcpy(victim->dk, dk, KEYS_DK_LEN);
	pthread_mutex_unlock(&c->mu);
}

void filekms_cache_clear(struct filekms_cache *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->mu);
	secmem_wipe(c->e, (size_t)c->nsets * WAYS * sizeof(struct entry));
	pthread_mutex_unlock(&c->mu);
}
