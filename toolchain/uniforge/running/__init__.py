"""The running layer: one QEMU process under QMP, the guest's console (crash backtraces symbolized from the image's
DWARF by building/symbolize.py), its devices from `uniforge run`'s flags. Knows no target: the platforms layer says
what to run."""
