/* strptime with glibc's conversions besides POSIX's: %F (%Y-%m-%d), %s (seconds since the Epoch, as local time),
 * %z (+hh, +hhmm, +hh:mm or Z, into tm_gmtoff) and %Z (a zone name, skipped), which programs written against glibc
 * use and musl 1.2.3 does not parse. Names are the C locale's (the only one there is); %E and %O are ignored, as
 * POSIX allows. A number may follow spaces; whitespace in the format matches any amount, none included. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char *const day_names[] = { "Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
					  "Saturday" };
static const char *const month_names[] = { "January", "February", "March", "April", "May", "June", "July",
					    "August", "September", "October", "November", "December" };

/* What only the end of the whole parse can apply: %C and %y combine, %p moves %I's hour. */
struct pending {
	int century, year2, pm;         /* -1: not given */
};

/* At most `width` digits (after spaces, and a sign if `sign`), within [lo, hi]: the end of them, or 0. */
static const char *number(const char *s, int width, long lo, long hi, int sign, long *out)
{
	long v = 0;
	int negative = 0, digits = 0;
	while (isspace((unsigned char)*s))
		s++;
	if (sign && (*s == '+' || *s == '-'))
		negative = *s++ == '-';
	for (; digits < width && isdigit((unsigned char)*s); digits++)
		v = v * 10 + (*s++ - '0');
	v = negative ? -v : v;
	if (!digits || v < lo || v > hi)
		return 0;
	*out = v;
	return s;
}

/* One of `names`, whole or its first three letters, in any case: its index into *out. */
static const char *name(const char *s, const char *const *names, int count, int *out)
{
	for (int i = 0; i < count; i++) {
		size_t whole = strlen(names[i]);
		if (!strncasecmp(s, names[i], whole) || !strncasecmp(s, names[i], 3)) {
			*out = i;
			return s + (strncasecmp(s, names[i], whole) ? 3 : whole);
		}
	}
	return 0;
}

/* %z: Z, or a sign and hours, then minutes maybe after a colon. */
static const char *zone_offset(const char *s, long *out)
{
	if (*s == 'Z') {
		*out = 0;
		return s + 1;
	}
	if (*s != '+' && *s != '-')
		return 0;
	int negative = *s++ == '-';
	long hours, minutes = 0;
	if (!isdigit((unsigned char)*s) || !(s = number(s, 2, 0, 99, 0, &hours)))
		return 0;
	const char *m = *s == ':' ? s + 1 : s;
	if (isdigit((unsigned char)*m) && !(s = number(m, 2, 0, 59, 0, &minutes)))
		return 0;
	*out = (negative ? -1 : 1) * (hours * 3600 + minutes * 60);
	return s;
}

static const char *parse(const char *s, const char *f, struct tm *tm, struct pending *p)
{
	long v;
	for (; *f && s; f++) {
		if (isspace((unsigned char)*f)) {
			while (isspace((unsigned char)*s))
				s++;
			continue;
		}
		if (*f != '%') {
			s = *s == *f ? s + 1 : 0;
			continue;
		}
		if (*++f == 'E' || *f == 'O')
			f++;
		if (!*f)
			return 0;               /* a lone % ends the format */
		switch (*f) {
		case '%': s = *s == '%' ? s + 1 : 0; break;
		case 'a': case 'A': s = name(s, day_names, 7, &tm->tm_wday); break;
		case 'b': case 'B': case 'h': s = name(s, month_names, 12, &tm->tm_mon); break;
		case 'c': s = parse(s, "%a %b %e %H:%M:%S %Y", tm, p); break;
		case 'C': if ((s = number(s, 2, 0, 99, 0, &v))) p->century = (int)v; break;
		case 'd': case 'e': if ((s = number(s, 2, 1, 31, 0, &v))) tm->tm_mday = (int)v; break;
		case 'D': case 'x': s = parse(s, "%m/%d/%y", tm, p); break;
		case 'F': s = parse(s, "%Y-%m-%d", tm, p); break;
		case 'g': case 'U': case 'V': case 'W': s = number(s, 2, 0, 99, 0, &v); break;    /* week numbers: */
		case 'G': s = number(s, 4, 0, 9999, 0, &v); break;      /* read, not applied (nor by musl) */
		case 'H': if ((s = number(s, 2, 0, 23, 0, &v))) tm->tm_hour = (int)v; break;
		case 'I': if ((s = number(s, 2, 1, 12, 0, &v))) tm->tm_hour = (int)v % 12; break;
		case 'j': if ((s = number(s, 3, 1, 366, 0, &v))) tm->tm_yday = (int)v - 1; break;
		case 'm': if ((s = number(s, 2, 1, 12, 0, &v))) tm->tm_mon = (int)v - 1; break;
		case 'M': if ((s = number(s, 2, 0, 59, 0, &v))) tm->tm_min = (int)v; break;
		case 'n': case 't': while (isspace((unsigned char)*s)) s++; break;
		case 'p':
			if (!strncasecmp(s, "AM", 2) || !strncasecmp(s, "PM", 2)) {
				p->pm = toupper((unsigned char)*s) == 'P';
				s += 2;
			} else {
				s = 0;
			}
			break;
		case 'r': s = parse(s, "%I:%M:%S %p", tm, p); break;
		case 'R': s = parse(s, "%H:%M", tm, p); break;
		case 's': {
			char *end;
			while (isspace((unsigned char)*s))
				s++;
			time_t t = (time_t)strtoll(s, &end, 10);
			s = end != s && localtime_r(&t, tm) ? end : 0;
			break;
		}
		case 'S': if ((s = number(s, 2, 0, 61, 0, &v))) tm->tm_sec = (int)v; break;
		case 'T': case 'X': s = parse(s, "%H:%M:%S", tm, p); break;
		case 'u': if ((s = number(s, 1, 1, 7, 0, &v))) tm->tm_wday = (int)v % 7; break;
		case 'w': if ((s = number(s, 1, 0, 6, 0, &v))) tm->tm_wday = (int)v; break;
		case 'y': if ((s = number(s, 2, 0, 99, 0, &v))) p->year2 = (int)v; break;
		case 'Y': if ((s = number(s, 9, -99999999, 999999999, 1, &v))) tm->tm_year = (int)(v - 1900); break;
		case 'z': if ((s = zone_offset(s, &v))) tm->__tm_gmtoff = v; break;
		case 'Z': while (*s && !isspace((unsigned char)*s)) s++; break;
		default: s = 0; break;
		}
	}
	return *f ? 0 : s;
}

char *strptime(const char *restrict s, const char *restrict f, struct tm *restrict tm)
{
	struct pending p = { -1, -1, -1 };
	if (!(s = parse(s, f, tm, &p)))
		return 0;
	if (p.century >= 0)
		tm->tm_year = p.century * 100 + (p.year2 >= 0 ? p.year2 : 0) - 1900;
	else if (p.year2 >= 0)
		tm->tm_year = p.year2 < 69 ? p.year2 + 100 : p.year2;   /* POSIX: 69-99 are 19xx, 00-68 20xx */
	if (p.pm >= 0)
		tm->tm_hour = tm->tm_hour % 12 + (p.pm ? 12 : 0);
	return (char *)s;
}
