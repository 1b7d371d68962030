/* The parts of the UEFI specification (2.10) the stub uses, for 32-bit ARM: UINTN and pointers are 4 bytes, calls
 * follow the AAPCS (no EFIAPI attribute needed). Tables are given up to the last member read. */
#ifndef UF_EFISTUB_EFI_H
#define UF_EFISTUB_EFI_H

#include <stdint.h>
#include <stddef.h>

typedef uint32_t efi_uintn;
typedef efi_uintn efi_status;
typedef void *efi_handle;
typedef uint16_t efi_char16;

#define EFI_ERROR_BIT 0x80000000u
#define EFI_SUCCESS 0
#define EFI_LOAD_ERROR (EFI_ERROR_BIT | 1)
#define EFI_INVALID_PARAMETER (EFI_ERROR_BIT | 2)
#define EFI_BUFFER_TOO_SMALL (EFI_ERROR_BIT | 5)
#define EFI_NOT_FOUND (EFI_ERROR_BIT | 14)

typedef struct {
	uint32_t data1;
	uint16_t data2, data3;
	uint8_t data4[8];
} efi_guid;

typedef struct {
	uint64_t signature;
	uint32_t revision, header_size, crc32, reserved;
} efi_table_header;

typedef struct efi_text_output {
	void *reset;
	efi_status (*output_string)(struct efi_text_output *self, const efi_char16 *text);
} efi_text_output;

enum { EFI_ALLOCATE_ADDRESS = 2 };
enum { EFI_LOADER_DATA = 2 };

typedef struct {
	uint32_t type;
	uint64_t physical_start, virtual_start, pages, attribute;
} efi_memory_descriptor;

typedef struct {
	efi_table_header header;
	void *raise_tpl, *restore_tpl;
	efi_status (*allocate_pages)(int type, int memory_type, efi_uintn pages, uint64_t *address);
	efi_status (*free_pages)(uint64_t address, efi_uintn pages);
	efi_status (*get_memory_map)(efi_uintn *size, efi_memory_descriptor *map, efi_uintn *key,
				     efi_uintn *descriptor_size, uint32_t *descriptor_version);
	efi_status (*allocate_pool)(int memory_type, efi_uintn size, void **buffer);
	efi_status (*free_pool)(void *buffer);
	void *create_event, *set_timer, *wait_for_event, *signal_event, *close_event, *check_event;
	void *install_protocol_interface, *reinstall_protocol_interface, *uninstall_protocol_interface;
	void *handle_protocol, *reserved, *register_protocol_notify, *locate_handle, *locate_device_path;
	void *install_configuration_table, *load_image, *start_image, *exit, *unload_image;
	efi_status (*exit_boot_services)(efi_handle image, efi_uintn map_key);
} efi_boot_services;

typedef struct {
	efi_guid guid;
	void *table;
} efi_configuration_table;

typedef struct {
	efi_table_header header;
	efi_char16 *firmware_vendor;
	uint32_t firmware_revision;
	efi_handle console_in_handle;
	void *con_in;
	efi_handle console_out_handle;
	efi_text_output *con_out;
	efi_handle standard_error_handle;
	efi_text_output *std_err;
	void *runtime_services;
	efi_boot_services *boot_services;
	efi_uintn number_of_table_entries;
	efi_configuration_table *configuration_table;
} efi_system_table;

#endif
