/* A multiboot2 entry beside the PVH one, so that GRUB (BIOS or UEFI) can boot the image from a disk.
 *
 * GRUB loads the ELF's segments where they are linked and enters here in the state PVH also gives (32-bit
 * protected mode, flat segments, paging and interrupts off, no stack), with %eax = 0x36d76289 and %ebx = its
 * boot information (MBI). The MBI's command-line, memory-map and ACPI tags are turned into the hvm_start_info
 * that module boot reads, and the PVH path goes on from there: the rest of the boot knows one protocol.
 * The MBI lies outside the image (GRUB allocates it apart from the segments) and boot reads the map and copies
 * the command line before anything else uses RAM; the RSDP, which the MBI holds as a copy, is copied here.
 * A BIOS leaves the 8259 PICs delivering its timer at vectors the library OS takes for exceptions (IRQ 0 at
 * vector 8: a double fault at the first wait with interrupts on): they are masked, as PVH loaders leave them.
 * (Multiboot2 specification 1.0, sections 3.1 and 3.6.) */

#define MB2_HEADER_MAGIC     0xe85250d6
#define MB2_ARCH_I386        0          /* 32-bit protected mode */
#define MB2_BOOTLOADER_MAGIC 0x36d76289
#define MB2_HEADER_TAG_END   0
#define MB2_HEADER_TAG_ENTRY 3
#define MB2_TAG_END          0
#define MB2_TAG_CMDLINE      1
#define MB2_TAG_MMAP         6
#define MB2_TAG_ACPI_OLD     14
#define MB2_TAG_ACPI_NEW     15
#define MB2_MMAP_ENTRY_SIZE  24         /* base, length, type, reserved: hvm_memmap_entry's layout */

#define HVM_START_MAGIC 0x336ec578      /* struct hvm_start_info, version 1 (libos/boot/boot.c) */
#define SI_CMDLINE      24
#define SI_RSDP         32
#define SI_MEMMAP       40
#define SI_MEMMAP_COUNT 48
#define SI_SIZE         56
#define RSDP_MAX        36              /* an ACPI 2.0 RSDP */

/* The header: within the file's first 32 KiB, 8-byte aligned (the linker script puts .multiboot2 after the
 * ELF headers). The ELF's program headers say where to load; the entry tag says where to start. */
	.section .multiboot2, "a", @progbits
	.balign 8
header:
	.long MB2_HEADER_MAGIC, MB2_ARCH_I386, header_end - header
	.long -(MB2_HEADER_MAGIC + MB2_ARCH_I386 + (header_end - header))
	.balign 8
	.short MB2_HEADER_TAG_ENTRY, 0
	.long 12
	.long uf_multiboot2_start
	.balign 8
	.short MB2_HEADER_TAG_END, 0
	.long 8
header_end:

	.section .text.uf_multiboot2_start, "ax", @progbits
	.code32
	.globl uf_multiboot2_start
	.type uf_multiboot2_start, @function
uf_multiboot2_start:
	cmp $MB2_BOOTLOADER_MAGIC, %eax
	jne .                           /* not a multiboot2 loader: nothing to read the machine from */
	mov $0xff, %al                  /* mask every line of both 8259s (their data ports: 0xa1, 0x21) */
	out %al, $0xa1
	out %al, $0x21
	cld
	lea 8(%ebx), %ebx               /* the first tag, after total_size and reserved */
next_tag:
	mov (%ebx), %eax                /* type */
	cmp $MB2_TAG_END, %eax
	je done
	cmp $MB2_TAG_CMDLINE, %eax
	jne 1f
	lea 8(%ebx), %eax               /* the string */
	mov %eax, start_info + SI_CMDLINE
	jmp skip
1:	cmp $MB2_TAG_MMAP, %eax
	jne 2f
	cmpl $MB2_MMAP_ENTRY_SIZE, 8(%ebx)
	jne skip                        /* an entry layout boot does not read: no map, boot says so */
	lea 16(%ebx), %eax
	mov %eax, start_info + SI_MEMMAP
	mov 4(%ebx), %eax
	sub $16, %eax
	xor %edx, %edx
	mov $MB2_MMAP_ENTRY_SIZE, %ecx
	div %ecx
	mov %eax, start_info + SI_MEMMAP_COUNT
	jmp skip
2:	cmp $MB2_TAG_ACPI_OLD, %eax
	je 3f
	cmp $MB2_TAG_ACPI_NEW, %eax
	jne skip
3:	lea 8(%ebx), %esi               /* copy the RSDP (the newer tag, if both, comes last and wins) */
	mov $rsdp, %edi
	mov 4(%ebx), %ecx
	sub $8, %ecx
	cmp $RSDP_MAX, %ecx
	jbe 4f
	mov $RSDP_MAX, %ecx
4:	rep movsb
	movl $rsdp, start_info + SI_RSDP
skip:
	mov 4(%ebx), %eax               /* size, rounded up to the next 8-byte boundary */
	add $7, %eax
	and $~7, %eax
	add %eax, %ebx
	jmp next_tag
done:
	mov $start_info, %ebx
	jmp uf_pvh_start
	.size uf_multiboot2_start, . - uf_multiboot2_start

	/* In .data, not .bss: written before boot zeroes .bss. */
	.section .data.uf_multiboot2_start_info, "aw", @progbits
	.balign 8
start_info:
	.long HVM_START_MAGIC, 1
	.skip SI_SIZE - 8
rsdp:
	.skip RSDP_MAX
