"""The running layer: one QEMU process under QMP, the guest's console, its devices from `uniforge run`'s flags, and
backtraces symbolized from the image's DWARF. Knows no target: the platforms layer says what to run."""
