"""The platforms layer: the ways to boot an image (plain QEMU, Xen under QEMU as dom0 or dom0less) and the runner that
boots a target's image the way its target file says, with the guest's exit status decoded in one place."""
