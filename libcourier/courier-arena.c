/*
 * courier-arena.c: a bump allocator for the short-lived message trees of
 * one frame. protobuf-c unpacks into it through a ProtobufCAllocator, so a
 * frame's many small allocations cost a pointer bump each and one reset.
 */
#include <stdlib.h>

#include "courier-internal.h"

#define ARENA_BLOCK	(16 * 1024)
#define ARENA_ALIGN	16

struct arena_block {
	struct arena_block	*next;
	size_t			 size;
	_Alignas(ARENA_ALIGN) char data[];
};

static void *
arena_pb_alloc(void *data, size_t size)
{
	return (courier_arena_alloc(data, size));
}

static void
arena_pb_free(void *data, void *ptr)
{
	/* Freed all at once by courier_arena_reset(). */
}

/* An empty arena; its first block comes with the first allocation. */
void
courier_arena_init(struct courier_arena *a)
{
	a->head = NULL;
	a->ptr = NULL;
	a->left = 0;
	a->pb.alloc = arena_pb_alloc;
	a->pb.free = arena_pb_free;
	a->pb.allocator_data = a;
}

/* size bytes, aligned to 16, valid until the next reset. */
void *
courier_arena_alloc(struct courier_arena *a, size_t size)
{
	struct arena_block	*b;
	size_t			 bsize;
	void			*p;

	size = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	if (size == 0)
		size = ARENA_ALIGN;
	if (size > a->left) {
		bsize = size > ARENA_BLOCK ? size : ARENA_BLOCK;
		b = xmalloc(sizeof *b + bsize);
		b->size = bsize;
		if (size > ARENA_BLOCK / 4 && a->head != NULL) {
			/* A big block goes behind the current one, which
			 * keeps its room for the small ones. */
			b->next = a->head->next;
			a->head->next = b;
			return (b->data);
		}
		b->next = a->head;
		a->head = b;
		a->ptr = b->data;
		a->left = bsize;
	}
	p = a->ptr;
	a->ptr += size;
	a->left -= size;
	return (p);
}

/* Free everything but the newest small block, which is kept for reuse. */
void
courier_arena_reset(struct courier_arena *a)
{
	struct arena_block	*b, *next;

	if (a->head == NULL)
		return;
	for (b = a->head->next; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	a->head->next = NULL;
	if (a->head->size > ARENA_BLOCK) {
		free(a->head);
		a->head = NULL;
		a->ptr = NULL;
		a->left = 0;
		return;
	}
	a->ptr = a->head->data;
	a->left = a->head->size;
}

/* Free every block. */
void
courier_arena_free(struct courier_arena *a)
{
	struct arena_block	*b, *next;

	for (b = a->head; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	courier_arena_init(a);
}
