/* Who the process is: real, effective and saved user and group ids, supplementary groups, its session and
 * process group. It starts as root, in no session (sid and pgid 0: the first process Linux starts is so), and the
 * ids change as Linux's rules allow: with an effective uid of 0 any id may be set; otherwise only to one of the
 * real, effective or saved ones, so a server that drops to nobody cannot come back. The ids are what getuid and
 * friends answer and what new files in a tmpfs are owned by; they limit nothing else (the app is the machine's
 * only program, and the library OS does not check permissions). */
#include <errno.h>
#include <sys/types.h>
#include <uf/process.h>

#define MAX_GROUPS 64
#define OUR_PID 1

static uid_t ruid, euid, suid, fsuid;
static gid_t rgid, egid, sgid, fsgid;
static gid_t groups[MAX_GROUPS];
static int ngroups;
static pid_t session, group;

/* musl on ARM calls the 32-bit-id forms of these (getuid32...); x86_64 has only those under the plain names. */
#ifdef __arm__
#define ID(name) uf_sys_##name##32
#else
#define ID(name) uf_sys_##name
#endif

uid_t uf_process_euid(void)
{
	return euid;
}

gid_t uf_process_egid(void)
{
	return egid;
}

static int privileged(void)
{
	return euid == 0;
}

static int one_of(unsigned id, unsigned r, unsigned e, unsigned s)
{
	return id == r || id == e || id == s;
}

/* setresuid/setresgid: -1 keeps an id; without privilege each new id must be one of the current three. The
 * file-system id follows the effective one. */
static long set_ids(unsigned *r, unsigned *e, unsigned *s, unsigned *fs, unsigned nr, unsigned ne, unsigned ns)
{
	unsigned keep = (unsigned)-1;
	if (!privileged() && ((nr != keep && !one_of(nr, *r, *e, *s)) || (ne != keep && !one_of(ne, *r, *e, *s)) ||
	                      (ns != keep && !one_of(ns, *r, *e, *s))))
		return -EPERM;
	if (nr != keep)
		*r = nr;
	if (ne != keep)
		*e = *fs = ne;
	if (ns != keep)
		*s = ns;
	return 0;
}

/* setuid/setgid: all three with privilege, else the effective one to the real or saved one. */
static long set_id(unsigned *r, unsigned *e, unsigned *s, unsigned *fs, unsigned id)
{
	if (privileged())
		*r = *e = *s = *fs = id;
	else if (id == *r || id == *s)
		*e = *fs = id;
	else
		return -EPERM;
	return 0;
}

/* setreuid/setregid: the real id to the real or effective one, the effective one to any of the three; the
 * saved id becomes the new effective id when the real one is set or the effective one moves off the real one. */
static long set_re(unsigned *r, unsigned *e, unsigned *s, unsigned *fs, unsigned nr, unsigned ne)
{
	unsigned keep = (unsigned)-1, old_r = *r;
	if (!privileged() && ((nr != keep && nr != *r && nr != *e) || (ne != keep && !one_of(ne, *r, *e, *s))))
		return -EPERM;
	if (nr != keep)
		*r = nr;
	if (ne != keep)
		*e = *fs = ne;
	if (nr != keep || (ne != keep && ne != old_r))
		*s = *e;
	return 0;
}

long ID(getuid)(void) { return ruid; }
long ID(geteuid)(void) { return euid; }
long ID(getgid)(void) { return rgid; }
long ID(getegid)(void) { return egid; }

long ID(setuid)(uid_t id) { return set_id(&ruid, &euid, &suid, &fsuid, id); }
long ID(setreuid)(uid_t r, uid_t e) { return set_re(&ruid, &euid, &suid, &fsuid, r, e); }
long ID(setresuid)(uid_t r, uid_t e, uid_t s) { return set_ids(&ruid, &euid, &suid, &fsuid, r, e, s); }

/* The gid calls ask whether the effective uid is 0 (Linux's CAP_SETGID), like the uid calls. */
long ID(setgid)(gid_t id) { return set_id(&rgid, &egid, &sgid, &fsgid, id); }
long ID(setregid)(gid_t r, gid_t e) { return set_re(&rgid, &egid, &sgid, &fsgid, r, e); }
long ID(setresgid)(gid_t r, gid_t e, gid_t s) { return set_ids(&rgid, &egid, &sgid, &fsgid, r, e, s); }

long ID(getresuid)(uid_t *r, uid_t *e, uid_t *s)
{
	*r = ruid, *e = euid, *s = suid;
	return 0;
}

long ID(getresgid)(gid_t *r, gid_t *e, gid_t *s)
{
	*r = rgid, *e = egid, *s = sgid;
	return 0;
}

/* setfsuid/setfsgid answer the previous id, whether or not they could change it. */
long ID(setfsuid)(uid_t id)
{
	uid_t old = fsuid;
	if (privileged() || one_of(id, ruid, euid, suid))
		fsuid = id;
	return old;
}

long ID(setfsgid)(gid_t id)
{
	gid_t old = fsgid;
	if (privileged() || one_of(id, rgid, egid, sgid))
		fsgid = id;
	return old;
}

long ID(setgroups)(size_t count, const gid_t *list)
{
	if (!privileged())
		return -EPERM;
	if (count > MAX_GROUPS)
		return -EINVAL;
	for (size_t i = 0; i < count; i++)
		groups[i] = list[i];
	ngroups = count;
	return 0;
}

long ID(getgroups)(int size, gid_t *list)
{
	if (size < 0)
		return -EINVAL;
	if (!size)
		return ngroups;
	if (size < ngroups)
		return -EINVAL;
	for (int i = 0; i < ngroups; i++)
		list[i] = groups[i];
	return ngroups;
}

/* A new session led by the process, unless it leads a process group already (then EPERM, as Linux). */
long uf_sys_setsid(void)
{
	if (group == OUR_PID)
		return -EPERM;
	session = group = OUR_PID;
	return session;
}

long uf_sys_getsid(pid_t pid)
{
	return pid && pid != OUR_PID ? -ESRCH : session;
}

/* Only the process's own group exists to join or make (pgid 0 or its pid); a session leader cannot move. */
long uf_sys_setpgid(pid_t pid, pid_t pgid)
{
	if (pid && pid != OUR_PID)
		return -ESRCH;
	if (pgid < 0)
		return -EINVAL;
	if (pgid && pgid != OUR_PID)
		return -EPERM;
	if (session == OUR_PID)
		return -EPERM;
	group = OUR_PID;
	return 0;
}

long uf_sys_getpgid(pid_t pid)
{
	return pid && pid != OUR_PID ? -ESRCH : group;
}
