"""Apps and builds: `App` (an app's uniforge.toml, or the same keys as Python data) and `build(app, target) -> Image`
with its BuildReport (image.py)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..building import manifest as manifests
from ..core import progress
from .image import BuildReport, Image


class App:
    """An app to build. `App.load(path)` reads uniforge.toml (a file, or the nearest one from a folder up);
    `App(name, sources, ...)` takes the same keys as Python data, with paths relative to `root`. Either way it is
    checked up front: a mistake is a ManifestError naming the key."""

    manifest: manifests.Manifest

    def __init__(self, name: str, sources: Sequence[str | Path], *, root: str | Path = ".",
                 include_dirs: Sequence[str | Path] = (), cflags: Sequence[str] = (), cxxflags: Sequence[str] = (),
                 target: str | None = None, memory: str | None = None, cmdline: str = "", debug: bool = False,
                 files: str | Path | dict[str, str] | None = None, disks: bool | None = None,
                 etc: str | Path | None = None, build: Sequence[str] = (), link_from: str | Path | None = None,
                 objects: Sequence[str | Path] = (), archives: Sequence[str | Path] = ()):
        data: dict[str, Any] = {"name": name, "sources": [str(s) for s in sources],
                                "include_dirs": [str(d) for d in include_dirs], "cflags": list(cflags),
                                "cxxflags": list(cxxflags),
                                "cmdline": cmdline, "debug": debug, "build": list(build),
                                "objects": [str(o) for o in objects], "archives": [str(a) for a in archives]}
        optional = {"target": target, "memory": memory, "disks": disks, "etc": str(etc) if etc else None,
                    "link_from": str(link_from) if link_from else None,
                    "files": files if isinstance(files, dict) or files is None else str(files)}
        data.update({key: value for key, value in optional.items() if value is not None})
        self.manifest = manifests.read(data, Path(root).resolve() / manifests.FILENAME, where=f"App({name!r})")

    @classmethod
    def load(cls, path: str | Path = ".") -> App:
        path = Path(path)
        found = manifests.find(path.resolve()) if path.is_dir() else path
        return cls.of(manifests.load(found))

    @classmethod
    def of(cls, manifest: manifests.Manifest) -> App:
        app = cls.__new__(cls)
        app.manifest = manifest
        return app

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def root(self) -> Path:
        """The folder its sources are relative to (and whose build/ it is built into by default)."""
        return self.manifest.root

    @property
    def target(self) -> str:
        """The target it is built for when build() is given none."""
        return self.manifest.target

    @property
    def sources(self) -> tuple[Path, ...]:
        return self.manifest.sources

    def __repr__(self) -> str:
        return f"App({self.name!r}, root={str(self.root)!r})"


def build(app: App | str | Path, target: str | None = None, *, debug: bool | None = None,
          out_dir: str | Path | None = None, progress_on_stderr: bool = False) -> Image:
    """Builds `app` (an App, or the path of its uniforge.toml or folder) for `target` (default: the app's) into
    `out_dir` (default: the app's build/); `debug` overrides the manifest's. The image carries its BuildReport."""
    from ..building import targets
    from ..building.crosscc import run_build
    from ..building.pipeline import build as run_pipeline

    app = app if isinstance(app, App) else App.load(app)
    chosen = targets.load(target or app.target)
    out = Path(out_dir).resolve() if out_dir is not None else app.root / "build"
    was_quiet, progress.quiet = progress.quiet, not progress_on_stderr
    try:
        # The project's own build first (the manifest's `build`), then the image from what it made.
        run_build(app.manifest, chosen, out / ".work" / chosen.name / "build.log")
        result = run_pipeline(app.manifest, chosen, debug=debug, out_dir=out)
    finally:
        progress.quiet = was_quiet
    return Image(result.image, report=BuildReport.of(result))
