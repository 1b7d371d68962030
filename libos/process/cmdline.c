/* Splitting the boot command line. The rule matches quote_guest_args() in the runner (toolchain/uniforge/run.py). */
#include <uf/process.h>

int uf_cmdline_split(char *line, char **words, int max)
{
	int count = 0;
	char *in = line, *out = line;
	while (*in) {
		while (*in == ' ')
			in++;
		if (!*in)
			break;
		if (count == max)
			return -1;
		words[count++] = out;
		int quoted = 0;
		for (; *in && (quoted || *in != ' '); in++) {
			if (*in == '"')
				quoted = !quoted;
			else if (*in == '\\' && in[1])
				*out++ = *++in;
			else
				*out++ = *in;
		}
		if (*in)
			in++;
		*out++ = 0;
	}
	return count;
}
