/* A server's privilege drop and nothing else that touches files: the user and group come from the image's /etc
 * (tests/integration/test_posix.py checks what it prints, and that the image has no disk driver, FAT or network
 * stack for it). */
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	struct passwd *root = getpwuid(0);
	if (!root)
		return printf("getpwuid(0) failed\n"), 1;
	printf("root is %s, home %s\n", root->pw_name, root->pw_dir);
	struct passwd *pw = getpwnam("nobody");         /* the same static struct as root's: read it now */
	struct group *gr = getgrnam("nogroup");
	if (!pw || !gr)
		return printf("getpwnam or getgrnam failed\n"), 1;
	uid_t uid = pw->pw_uid;
	printf("dropping to %s (%u) and %s (%u)\n", pw->pw_name, uid, gr->gr_name, gr->gr_gid);
	if (setgroups(0, 0) || setgid(gr->gr_gid) || setuid(uid))
		return printf("drop failed\n"), 1;
	printf("uid=%u euid=%u gid=%u egid=%u\n", getuid(), geteuid(), getgid(), getegid());
	return setuid(0) == 0;      /* must fail: no way back */
}
