/* Advisory locks, kept as Linux keeps them, in two spaces that never meet: fcntl's byte ranges and flock's whole
 * files. A lock has an owner: the process (POSIX record locks, F_SETLK...) or an open file description (F_OFD_SETLK...
 * and flock). Locks of one owner never conflict with each other: setting a range replaces what that owner held
 * there (splitting and merging ranges); another owner's lock conflicts where the ranges overlap and either is a
 * write lock. So one process never conflicts with itself through POSIX locks, while two open()s of one file
 * conflict through OFD locks or flock. The file is what fstat names (st_dev, st_ino): every open of it shares its
 * locks. POSIX locks go when any descriptor of the file is closed, the others with their open file description.
 *
 * One process and no threads: a wait for a lock that only this process could release would never end, so
 * F_SETLKW, F_OFD_SETLKW and a blocking flock fail with EDEADLK instead, as Linux does when it sees a deadlock. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <uf/fd.h>
#include "lock.h"

#define MAX_LOCKS 64
#define TO_END UINT64_MAX
#define PROCESS ((const struct uf_file *)0)     /* the owner of POSIX record locks */
#define OUR_PID 1

struct lock {
	dev_t dev;
	ino_t ino;
	const struct uf_file *owner;
	unsigned char in_use;
	unsigned char flock;            /* flock's space, else fcntl's */
	short type;                     /* F_RDLCK, F_WRLCK */
	uint64_t start, end;            /* [start, end) */
};

/* A request: what it is on, who asks, for what. */
struct want {
	dev_t dev;
	ino_t ino;
	const struct uf_file *owner;
	int flock;
	int type;
	uint64_t start, end;
};

static struct lock locks[MAX_LOCKS];

void (*uf_fd_lock_release)(struct uf_file *f, int descriptor);

static int file_id(struct uf_file *f, struct want *w)
{
	struct stat st;
	if (!f->ops->fstat)
		return -EINVAL;
	int r = f->ops->fstat(f, &st);
	w->dev = st.st_dev, w->ino = st.st_ino;
	return r;
}

static int same_file(const struct lock *l, const struct want *w)
{
	return l->in_use && l->dev == w->dev && l->ino == w->ino && l->flock == w->flock;
}

static int conflicts(const struct lock *l, const struct want *w)
{
	return same_file(l, w) && l->owner != w->owner && l->start < w->end && w->start < l->end &&
	       (l->type == F_WRLCK || w->type == F_WRLCK);
}

static struct lock *free_slot(void)
{
	for (int i = 0; i < MAX_LOCKS; i++)
		if (!locks[i].in_use)
			return &locks[i];
	return 0;
}

static void release(struct uf_file *f, int descriptor)
{
	struct want w = { .owner = PROCESS };
	int posix = descriptor && !file_id(f, &w), last = f->refs == 1;
	for (int i = 0; i < MAX_LOCKS; i++) {
		struct lock *l = &locks[i];
		if ((last && l->owner == f) || (posix && l->owner == PROCESS && same_file(l, &w)))
			l->in_use = 0;
	}
}

/* Replaces the owner's locks on [start, end) by one of the wanted type (none for F_UNLCK). */
static long set(struct want w, int wait)
{
	int free_count = 0;
	for (int i = 0; i < MAX_LOCKS; i++) {
		if (w.type != F_UNLCK && conflicts(&locks[i], &w))
			return wait ? -EDEADLK : -EAGAIN;
		free_count += !locks[i].in_use;
	}
	if (free_count < 1 + (w.type != F_UNLCK))  /* the worst case: one lock split in two, and the new one */
		return -ENOLCK;
	for (int i = 0; i < MAX_LOCKS; i++) {
		struct lock *l = &locks[i];
		if (!same_file(l, &w) || l->owner != w.owner || l->end < w.start || w.end < l->start)
			continue;
		if (l->type == w.type) {        /* overlapping or adjacent: one lock */
			w.start = l->start < w.start ? l->start : w.start;
			w.end = l->end > w.end ? l->end : w.end;
			l->in_use = 0;
		} else if (l->end == w.start || w.end == l->start) {
			continue;               /* adjacent, another type: stays */
		} else if (l->start < w.start && l->end > w.end) {
			struct lock *tail = free_slot();
			*tail = *l;
			tail->start = w.end;
			l->end = w.start;
		} else if (l->start < w.start) {
			l->end = w.start;
		} else if (l->end > w.end) {
			l->start = w.end;
		} else {
			l->in_use = 0;
		}
	}
	if (w.type != F_UNLCK) {
		*free_slot() = (struct lock){ .dev = w.dev, .ino = w.ino, .owner = w.owner, .in_use = 1,
		                              .flock = w.flock, .type = w.type, .start = w.start, .end = w.end };
		uf_fd_lock_release = release;
	}
	return 0;
}

/* The byte range a struct flock names, from SEEK_SET, SEEK_CUR or SEEK_END; a length of 0 runs to the end of
 * the file however far it grows, a negative one ends at the start. */
static int range(struct uf_file *f, const struct flock *fl, struct want *w)
{
	int64_t base = 0;
	if (fl->l_whence == SEEK_CUR) {
		base = f->ops->lseek ? f->ops->lseek(f, 0, SEEK_CUR) : 0;
	} else if (fl->l_whence == SEEK_END) {
		struct stat st;
		base = f->ops->fstat(f, &st);
		if (!base)
			base = st.st_size;
	} else if (fl->l_whence != SEEK_SET) {
		return -EINVAL;
	}
	if (base < 0)
		return base;
	int64_t start;
	if (__builtin_add_overflow(base, (int64_t)fl->l_start, &start))
		return -EOVERFLOW;
	if (fl->l_len == 0) {
		w->start = start, w->end = TO_END;
		return start < 0 ? -EINVAL : 0;
	}
	int64_t other;
	if (__builtin_add_overflow(start, (int64_t)fl->l_len, &other))
		return -EOVERFLOW;
	if (other < start) {
		int64_t t = start;
		start = other, other = t;
	}
	if (start < 0)
		return -EINVAL;
	w->start = start, w->end = other;
	return 0;
}

long uf_fd_lock_command(struct uf_file *f, int cmd, void *arg)
{
	struct flock *fl = arg;
	int ofd = cmd == F_OFD_GETLK || cmd == F_OFD_SETLK || cmd == F_OFD_SETLKW;
	if (!ofd && cmd != F_GETLK && cmd != F_SETLK && cmd != F_SETLKW)
		return -EINVAL;
	if (!fl)
		return -EFAULT;
	if (ofd && fl->l_pid)
		return -EINVAL;         /* Linux: reserved for future use, must be 0 */
	struct want w = { .owner = ofd ? f : PROCESS, .type = fl->l_type };
	if (w.type != F_RDLCK && w.type != F_WRLCK && w.type != F_UNLCK)
		return -EINVAL;
	int r = file_id(f, &w);
	if (!r)
		r = range(f, fl, &w);
	if (r < 0)
		return r;
	if (cmd == F_GETLK || cmd == F_OFD_GETLK) {
		if (w.type == F_UNLCK)
			return -EINVAL;
		for (int i = 0; i < MAX_LOCKS; i++) {
			const struct lock *l = &locks[i];
			if (conflicts(l, &w)) {
				*fl = (struct flock){ .l_type = l->type, .l_whence = SEEK_SET, .l_start = l->start,
				                      .l_len = l->end == TO_END ? 0 : l->end - l->start,
				                      .l_pid = l->owner == PROCESS ? OUR_PID : -1 };
				return 0;
			}
		}
		fl->l_type = F_UNLCK;
		return 0;
	}
	int mode = f->flags & O_ACCMODE;
	if ((w.type == F_RDLCK && mode == O_WRONLY) || (w.type == F_WRLCK && mode == O_RDONLY))
		return -EBADF;
	return set(w, cmd == F_SETLKW || cmd == F_OFD_SETLKW);
}

long uf_sys_flock(int fd, int op)
{
	struct uf_file *f = uf_fd_get(fd);
	if (!f)
		return -EBADF;
	int how = op & ~LOCK_NB;
	struct want w = { .owner = f, .flock = 1, .start = 0, .end = TO_END,
	                  .type = how == LOCK_SH ? F_RDLCK : how == LOCK_EX ? F_WRLCK : F_UNLCK };
	if (how != LOCK_SH && how != LOCK_EX && how != LOCK_UN)
		return -EINVAL;
	int r = file_id(f, &w);
	return r < 0 ? r : set(w, !(op & LOCK_NB));
}
