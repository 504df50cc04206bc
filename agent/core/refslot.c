// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The current one of a refcounted object that reloads replace. */
#include <stddef.h>

#include "core/refslot.h"

void gw_refslot_init(struct gw_refslot *s, void *(*get)(void *obj), void (*put)(void *obj))
{
	pthread_mutex_init(&s->lock, NULL);
	s->ptr = NULL;
	atomic_init(&s->gen, 1);
	s->get = get;
	s->put = put;
}

void *gw_refslot_acquire(struct gw_refslot *s)
{
	void *obj;

	pthread_mutex_lock(&s->lock);
	obj = s->ptr ? s->get(s->ptr) : NULL;
	pthread_mutex_unlock(&s->lock);
	return obj;
}

void *gw_refslot_refresh(struct gw_refslot *s, void **obj, unsigned int *gen)
{
	void *old = *obj;

	if (atomic_load_explicit(&s->gen, memory_order_acquire) == *gen)
		return old;
	pthread_mutex_lock(&s->lock);
	*obj = s->ptr ? s->get(s->ptr) : NULL;
	*gen = atomic_load_explicit(&s->gen, memory_order_relaxed);
	pthread_mutex_unlock(&s->lock);
	if (old)
		s->put(old);
	return *obj;
}

void gw_refslot_swap(struct gw_refslot *s, void *obj)
{
	void *old;

	pthread_mutex_lock(&s->lock);
	old = s->ptr;
	s->ptr = obj;
	atomic_fetch_add_explicit(&s->gen, 1, memory_order_release);
	pthread_mutex_unlock(&s->lock);
	/* Outside the lock: the last put may free a large object. */
	if (old)
		s->put(old);
}

void gw_refslot_destroy(struct gw_refslot *s)
{
	gw_refslot_swap(s, NULL);
	pthread_mutex_destroy(&s->lock);
}
