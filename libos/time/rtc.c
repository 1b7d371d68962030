/* x86_64 wall clock, asked for once, when CLOCK_REALTIME is first needed: the pvclock's when that is the clock
 * (kvmclock's: KVM's microvm has no RTC; Xen's shared info), else the CMOS RTC (MC146818 and compatibles). */
#include <stdint.h>

#include <uf/x86_64.h>

#include "arch.h"
#include "tsc.h"

#define CMOS_INDEX 0x70
#define CMOS_DATA 0x71
#define RTC_A 0x0a              /* bit 7: update in progress */
#define RTC_B 0x0b              /* bit 1: 24-hour, bit 2: binary (else BCD) */
#define RTC_UIP 0x80

static uint8_t cmos(uint8_t reg)
{
	uf_outb(CMOS_INDEX, reg);
	return uf_inb(CMOS_DATA);
}

/* While UIP is set the registers are being rewritten (at most ~2 ms). 0 if it never clears: no working RTC. */
static int wait_update_done(void)
{
	uint64_t limit = uf_arch_clock_ns() + 10000000;
	while (cmos(RTC_A) & RTC_UIP)
		if (uf_arch_clock_ns() > limit)
			return 0;
	return 1;
}

/* Seconds, minutes, hours, day, month, year. */
static const uint8_t fields[6] = {0x00, 0x02, 0x04, 0x07, 0x08, 0x09};

static int read_fields(uint8_t v[6])
{
	if (!wait_update_done())
		return 0;
	for (int i = 0; i < 6; i++)
		v[i] = cmos(fields[i]);
	return 1;
}

static unsigned bin(uint8_t v, int bcd)
{
	return bcd ? (v >> 4) * 10 + (v & 0x0f) : v;
}

/* Days from 1970-01-01 to the given date (Gregorian). */
static uint64_t days_since_epoch(unsigned y, unsigned m, unsigned d)
{
	static const uint16_t before_month[12] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
	unsigned p = y - 1;
	uint64_t leap_days = p / 4 - p / 100 + p / 400 - 477;  /* 477 leap years before 1970 */
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return (uint64_t)(y - 1970) * 365 + leap_days + before_month[m - 1] + (m > 2 && leap) + d - 1;
}

static int cmos_seconds(uint64_t *seconds)
{
	uint8_t a[6], b[6];
	uint8_t mode = cmos(RTC_B);
	int bcd = !(mode & 0x04), tries = 0;

	if (mode == 0xff)       /* nothing on the bus */
		return -1;
	/* Two equal reads in a row: UIP alone leaves only 244 us, which slow port I/O (a VM exit each) can overrun. */
	do {
		if (!read_fields(a) || !read_fields(b) || ++tries > 5)
			return -1;
	} while (a[0] != b[0] || a[1] != b[1] || a[2] != b[2] || a[3] != b[3] || a[4] != b[4] || a[5] != b[5]);

	unsigned sec = bin(a[0], bcd), min = bin(a[1], bcd), day = bin(a[3], bcd), mon = bin(a[4], bcd);
	unsigned year = bin(a[5], bcd), hour = bin(a[2] & 0x7f, bcd);
	if (!(mode & 0x02))     /* 12-hour clock: bit 7 of the hour is PM, and 12 means 0 */
		hour = hour % 12 + (a[2] & 0x80 ? 12 : 0);
	if (sec > 59 || min > 59 || hour > 23 || day < 1 || day > 31 || mon < 1 || mon > 12 || year > 99)
		return -1;
	/* The century register's location is whatever ACPI's FADT says; a pivot holds until 2069. */
	year += year < 70 ? 2000 : 1900;
	*seconds = days_since_epoch(year, mon, day) * 86400 + hour * 3600 + min * 60 + sec;
	return 0;
}

int uf_arch_wall_offset(uint64_t *offset)
{
	uint64_t sec;
	if (uf_pvclock_wall_offset(offset) == 0)
		return 0;
	if (cmos_seconds(&sec))
		return -1;
	*offset = sec * 1000000000 - uf_arch_clock_ns();
	return 0;
}
