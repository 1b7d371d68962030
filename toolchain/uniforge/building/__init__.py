"""The building layer: what an app and a target are (manifest, targets), and the build pipeline's stages, each a
module with plain functions: compile, musl, the compiler runtime, modules, resolve, generate, link, post-process,
package (the deployment files a target lists); and reading back what it made: the image's symbols and DWARF
(symbolize.py: functions and lines for backtraces and for errors that name the app's calls, callsite.py)."""
