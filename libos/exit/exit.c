/* Exit on x86_64: QEMU's isa-debug-exit device if present, else ACPI soft-off, else halt forever. */
#include <stdint.h>
#include <uf/console.h>
#include <uf/exit.h>
#include <uf/x86_64.h>

#define DEBUG_EXIT_PORT 0xf4
#define PM1A_CNT_Q35    0x604   /* ICH9 PM base 0x600 (q35, newer QEMU machines) */
#define PM1A_CNT_PIIX   0xb004  /* PIIX4 PM base 0xb000 (old pc) */
#define SLP_EN          0x2000  /* SLP_TYP 0 = S5 (soft off) on QEMU's chipsets */

_Noreturn void uf_exit(int status)
{
	/* QEMU exits with (value << 1) | 1, and a process status has 8 bits: 7 bits survive. A larger status would
	 * arrive as a different, possibly zero, one; say so and report the largest that fits instead. */
	if (status < 0 || status > 127) {
		uf_printk("uniforge: exit status %d does not fit the exit device (0-127): reporting 127\n", status);
		status = 127;
	}
	uf_outl(DEBUG_EXIT_PORT, (uint32_t)status);   /* QEMU stops here; without the device the write is ignored */
	uf_outw(PM1A_CNT_Q35, SLP_EN);
	uf_outw(PM1A_CNT_PIIX, SLP_EN);
	for (;;)
		__asm__ volatile("cli; hlt");
}
