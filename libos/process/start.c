/* From the boot command line to main(): the contiguous argv, NULL, envp, NULL, auxv block that musl's
 * __libc_start_main expects from a Linux kernel.
 *
 * Command line: the image's built-in part (uniforge.toml `cmdline`), then the boot loader's. Words before a lone
 * `--` are options (`uf.debug=1`, any dotted `a.b=c`) or environment (`NAME=value`); words after it are argv[1..].
 * Without `--`, words with `=` are options/environment and the others arguments. */
#include <elf.h>
#include <string.h>
#include <uf/boot.h>
#include <uf/console.h>
#include <uf/exit.h>
#include <uf/process.h>
#include <uf/thread.h>
#include <uf/trap.h>

#define MAX_WORDS 256
#define MAX_LINE 4096

extern const char uf_builtin_cmdline[];
extern char uf_app_argv0[];
int main(int, char **, char **);
int __libc_start_main(int (*)(int, char **, char **), int, char **, void (*)(void), void (*)(void), void (*)(void));

#if __SIZEOF_POINTER__ == 8
typedef Elf64_Phdr Phdr;
#else
typedef Elf32_Phdr Phdr;
#endif

/* The image's program headers, loaded where the linker script says (musl reads PT_TLS from them). */
extern const Phdr __uf_phdr_start[], __uf_phdr_end[];

static char line[MAX_LINE];
static char *words[MAX_WORDS];
static char *options[MAX_WORDS];
static int option_count;
/* argv, NULL, envp, NULL, then auxv pairs (the 16 extra slots hold them). */
static char *vector[2 * MAX_WORDS + 4 + 32];
static unsigned char random_bytes[16];

/* Run once per boot: under an emulator that translates each instruction before its first run, small code is fast
 * code. */
#pragma clang attribute push(__attribute__((minsize)), apply_to = function)

static int is_env_name(const char *w, const char *eq)
{
	if (w == eq)
		return 0;
	for (const char *p = w; p < eq; p++)
		if (!(*p == '_' || (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (p > w && *p >= '0' && *p <= '9')))
			return 0;
	return 1;
}

/* Not inlined into uf_app_main: fd's console asks it in every image, and one copy is smaller than two. */
__attribute__((noinline)) const char *uf_option(const char *name)
{
	for (int i = 0; i < option_count; i++) {
		const char *o = options[i], *n = name;
		while (*n && *o == *n)
			o++, n++;
		if (!*n && *o == '=')
			return o + 1;
	}
	return 0;
}

_Noreturn void uf_process_main(void)
{
	size_t builtin = strlen(uf_builtin_cmdline);
	const char *boot = uf_boot_info.cmdline ? uf_boot_info.cmdline : "";
	if (builtin + 1 + strlen(boot) + 1 > sizeof line)
		uf_panic("command line longer than %d bytes", MAX_LINE);
	memcpy(line, uf_builtin_cmdline, builtin);
	line[builtin] = ' ';
	strcpy(line + builtin + 1, boot);
	int count = uf_cmdline_split(line, words, MAX_WORDS);
	if (count < 0)
		uf_panic("command line has more than %d words", MAX_WORDS);

	int dashdash = count;
	for (int i = 0; i < count; i++)
		if (!strcmp(words[i], "--")) {
			dashdash = i;
			break;
		}
	/* argv first, then environment: both in order of appearance. */
	int argc = 0, n = 0;
	vector[n++] = uf_app_argv0;
	for (int i = 0; i < count; i++) {
		char *eq = strchr(words[i], '=');
		int is_arg = i > dashdash || (dashdash == count && !eq);
		if (is_arg)
			vector[n++] = words[i];
	}
	argc = n;
	vector[n++] = 0;
	for (int i = 0; i < dashdash; i++) {
		char *eq = strchr(words[i], '=');
		if (!eq)
			continue;
		if (is_env_name(words[i], eq))
			vector[n++] = words[i];
		else
			options[option_count++] = words[i];
	}
	vector[n++] = 0;

	uf_arch_entropy(random_bytes, sizeof random_bytes);
	size_t aux[] = {
		AT_PHDR, (size_t)__uf_phdr_start, AT_PHENT, sizeof(Phdr), AT_PHNUM, __uf_phdr_end - __uf_phdr_start,
		AT_PAGESZ, 4096, AT_RANDOM, (size_t)random_bytes, AT_UID, 0, AT_EUID, 0, AT_GID, 0, AT_EGID, 0,
		AT_SECURE, 0, AT_NULL, 0,
	};
	memcpy(&vector[n], aux, sizeof aux);
	if (uf_option("uf.bench")) {    /* `uniforge bench`: the boot as the guest sees it, up to (almost) main */
		uint64_t now = uf_arch_counter();
		uf_printk("uniforge: bench: entry=%llu main=%llu hz=%llu\n", (unsigned long long)uf_boot_entry_ticks,
			  (unsigned long long)now, (unsigned long long)uf_arch_counter_hz());
	}
#ifdef UF_THREADS
	uf_thread_interrupts_on();      /* the app runs with interrupts on: its threads are preempted */
#endif
	uf_exit(__libc_start_main(main, argc, vector, 0, 0, 0));
}

/* The boot calls it on the boot stack; module demand's definition moves to a stack as large as Linux's first. */
_Noreturn void uf_app_main(void) __attribute__((weak, alias("uf_process_main")));

#pragma clang attribute pop
