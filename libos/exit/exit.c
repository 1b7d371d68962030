/* Exit on x86_64 QEMU: the status byte to QEMU's debug console (isa-debugcon, a channel of the runner's), then
 * QEMU's isa-debug-exit device ends QEMU with ((code << 1) | 1), of which a process status keeps 7 bits (a crash:
 * 127 and no status byte); without the device, ACPI soft-off; else halt. */
#include <stdint.h>
#include <uf/exit.h>
#include <uf/x86_64.h>

#define DEBUGCON_PORT   0xe9
#define DEBUG_EXIT_PORT 0xf4
#define PM1A_CNT_Q35    0x604   /* ICH9 PM base 0x600 (q35, newer QEMU machines) */
#define PM1A_CNT_PIIX   0xb004  /* PIIX4 PM base 0xb000 (old pc) */
#define SLP_EN          0x2000  /* SLP_TYP 0 = S5 (soft off) on QEMU's chipsets */

void uf_exit_want_input(void)
{
	uf_outb(DEBUGCON_PORT, 0xff);
	uf_outb(DEBUGCON_PORT, 0x01);
}

_Noreturn void uf_exit(int status)
{
	if (status != UF_EXIT_CRASH)
		uf_outb(DEBUGCON_PORT, (uint8_t)status);        /* without the device the write is ignored */
	uf_outl(DEBUG_EXIT_PORT, status == UF_EXIT_CRASH ? 127 : (uint32_t)status & 0x7f);      /* QEMU stops here */
	uf_outw(PM1A_CNT_Q35, SLP_EN);
	uf_outw(PM1A_CNT_PIIX, SLP_EN);
	for (;;)
		__asm__ volatile("cli; hlt");
}
