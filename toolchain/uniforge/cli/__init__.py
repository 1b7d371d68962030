"""The command line: the `uniforge` command (main), host checks (doctor), inspect and targets output, disk images."""
