/* sysinfo(): the machine's RAM as the boot loader described it, and what is free of it now. */
#include <errno.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <uf/boot.h>
#include <uf/mem.h>

long uf_sys_sysinfo(struct sysinfo *info)
{
	if (!info)
		return -EFAULT;
	unsigned long long total = 0;
	for (size_t i = 0; i < uf_boot_info.nram; i++)
		total += uf_boot_info.ram[i].length;
	memset(info, 0, sizeof *info);
	info->mem_unit = UF_PAGE_SIZE;          /* counts in pages: fits 32-bit fields up to 16 TiB */
	info->totalram = total / UF_PAGE_SIZE;
	info->freeram = uf_page_free_count();
	info->procs = 1;
	return 0;
}
