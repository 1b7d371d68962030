"""syslog in an image (libos/libc/src/misc/syslog.c): the console is the log, and the caller's errno survives."""
import json

import pytest

from conftest import one_per_arch, uniforge

APP = r"""
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

int main(void)
{
	errno = ENOENT;
	syslog(LOG_ERR, "first: %m");
	printf("errno after syslog: %s\n", strerror(errno));
	openlog("probe", LOG_PID, LOG_DAEMON);
	setlogmask(LOG_UPTO(LOG_WARNING));
	syslog(LOG_INFO, "masked");
	syslog(LOG_WARNING, "second %d\n", 2);
	return 0;
}
"""


@pytest.mark.uniforge(targets=one_per_arch("boots"))
def test_syslog_writes_the_console_and_keeps_errno(tmp_path, target):
    (tmp_path / "uniforge.toml").write_text('name = "logger"\nsources = ["main.c"]\n')
    (tmp_path / "main.c").write_text(APP)
    report = json.loads(uniforge("build", "--json", "-t", target, cwd=tmp_path, check=True).stdout)
    modules = set(report["manifest"]["modules"])
    assert not modules & {"socket", "net"}, f"syslog linked the network: {modules}"
    proc = uniforge("run", f"build/logger.{target}", "--timeout", "60", cwd=tmp_path, timeout=300)
    out = proc.stdout.replace("\r\n", "\n")
    assert proc.returncode == 0, out + proc.stderr
    assert "logger: first: No such file or directory\n" in out, out
    assert "errno after syslog: No such file or directory\n" in out, out
    assert "probe[1]: second 2\n" in out and "masked" not in out, out
