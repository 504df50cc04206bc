/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The current one of a refcounted, immutable object (a JWKS key set, an API
 * key set) that a reread replaces while workers use it. A worker takes a
 * reference for as long as it needs the object (one request); a swap puts
 * in the new object and drops the slot's reference to the old one, which
 * is freed when its last user puts it. The lock is held only to read the
 * pointer and take the reference.
 *
 * Workers that run one event loop each and must not lock per request
 * cache the object instead: gw_refslot_refresh() once per request costs one
 * atomic load unless a swap happened, and a request that must outlive a
 * swap takes its own reference (the object's get, an atomic increment).
 */
#ifndef GW_REFSLOT_H
#define GW_REFSLOT_H

#include <pthread.h>
#include <stdatomic.h>

struct gw_refslot {
	pthread_mutex_t lock;
	void *ptr;
	atomic_uint gen;		/* bumped by every swap */
	void *(*get)(void *obj);	/* takes a reference, returns obj */
	void (*put)(void *obj);		/* drops one, frees on the last */
};

/* An empty slot for objects with these get/put functions. */
void gw_refslot_init(struct gw_refslot *s, void *(*get)(void *obj), void (*put)(void *obj));

/* Returns the current object with a reference the caller must put, or
 * NULL when the slot is empty. */
void *gw_refslot_acquire(struct gw_refslot *s);

/*
 * Keeps a worker's cached reference current: when the slot was swapped
 * since *gen (start with *obj NULL and *gen 0), puts *obj and takes the
 * current object and generation. Returns *obj (NULL when the slot is
 * empty).
 */
void *gw_refslot_refresh(struct gw_refslot *s, void **obj, unsigned int *gen);

/* Makes `obj` (may be NULL) current, taking over the caller's reference,
 * and drops the slot's reference to the object it replaces. */
void gw_refslot_swap(struct gw_refslot *s, void *obj);

/* Drops the current object's reference; the slot is empty afterwards. */
void gw_refslot_destroy(struct gw_refslot *s);

#endif /* GW_REFSLOT_H */
