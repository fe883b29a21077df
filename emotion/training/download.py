"""Download and unpack the RAVDESS audio archives from Zenodo (record 1188976).

Usage: python -m emotion.training.data download --dest data/ravdess [--only speech|song]
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import urllib.error
import urllib.request
import zipfile
from pathlib import Path, PurePosixPath
from typing import NamedTuple, Sequence

from tqdm import tqdm

from ..errors import SetupError

BASE_URL = "https://zenodo.org/records/1188976/files/"
CHUNK = 1 << 20


class RemoteFile(NamedTuple):
    name: str
    size: int
    md5: str
    subdir: str


FILES = (
    RemoteFile("Audio_Speech_Actors_01-24.zip", 208_468_073, "bc696df654c87fed845eb13823edef8a", "speech"),
    RemoteFile("Audio_Song_Actors_01-24.zip", 225_505_317, "5411230427d67a21e18aa4d466e6d1b9", "song"),
)


class DownloadError(SetupError):
    """Download, verification or unpacking failed; the message says what to do."""


def md5sum(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def _fetch(url: str, part: Path, total: int, progress: bool, timeout: float) -> None:
    have = part.stat().st_size if part.exists() else 0
    req = urllib.request.Request(url, headers={"User-Agent": "emotion-download"})
    if have:
        req.add_header("Range", f"bytes={have}-")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            mode = "ab" if have and resp.status == 206 else "wb"
            have = have if mode == "ab" else 0
            with (
                open(part, mode) as out,
                tqdm(
                    total=total, initial=have, unit="B", unit_scale=True, desc=part.name[:-5], disable=not progress
                ) as bar,
            ):
                for block in iter(lambda: resp.read(CHUNK), b""):
                    out.write(block)
                    bar.update(len(block))
    except urllib.error.HTTPError as e:
        if e.code == 416 and have:  # range beyond end: .part is probably complete already
            return
        raise DownloadError(f"{url}: HTTP error {e.code} {e.reason}. Re-run the command to retry.") from None
    except (urllib.error.URLError, TimeoutError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise DownloadError(
            f"{url}: network error ({reason}). The partial file {part} is kept; re-run the same command to resume."
        ) from None


def _fetch_verified(rf: RemoteFile, dest: Path, base_url: str, progress: bool, timeout: float) -> Path:
    final, part = dest / rf.name, dest / (rf.name + ".part")
    if final.exists() and final.stat().st_size == rf.size and md5sum(final) == rf.md5:
        return final
    _fetch(base_url + rf.name + "?download=1", part, rf.size, progress, timeout)
    size = part.stat().st_size if part.exists() else 0
    problem = None
    if size != rf.size:
        problem = f"size {size} bytes, expected {rf.size}"
    elif (digest := md5sum(part)) != rf.md5:
        problem = f"MD5 {digest}, expected {rf.md5}"
    if problem:
        part.unlink(missing_ok=True)
        raise DownloadError(
            f"{rf.name} is corrupt ({problem}); the partial file was deleted. Re-run the command to download it again."
        )
    part.replace(final)
    return final


def _safe_members(zf: zipfile.ZipFile, zip_path: Path) -> list[zipfile.ZipInfo]:
    for info in zf.infolist():
        p = PurePosixPath(info.filename.replace("\\", "/"))
        if p.is_absolute() or ".." in p.parts or (p.parts and ":" in p.parts[0]):
            raise DownloadError(f"{zip_path.name}: refusing unsafe member path {info.filename!r}")
    return zf.infolist()


def unpack(zip_path: Path, target: Path) -> Path:
    """Extract zip_path into target, refusing absolute or '..' member paths."""
    try:
        with zipfile.ZipFile(zip_path) as zf:
            members = _safe_members(zf, zip_path)
            files = [m for m in members if not m.is_dir()]
            if all(
                (target / m.filename).is_file() and (target / m.filename).stat().st_size == m.file_size for m in files
            ):
                return target
            target.mkdir(parents=True, exist_ok=True)
            zf.extractall(target, members=members)
    except zipfile.BadZipFile as e:
        raise DownloadError(f"{zip_path}: not a valid zip ({e}); delete it and re-run.") from None
    return target


def download(
    dest, files: Sequence[RemoteFile] = FILES, base_url: str = BASE_URL, progress: bool = True, timeout: float = 60.0
) -> list[Path]:
    """Download, verify (size + MD5) and unpack `files` into dest/<subdir>/. Returns the folders."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    zips = [(_fetch_verified(rf, dest, base_url, progress, timeout), rf) for rf in files]
    return [unpack(z, dest / rf.subdir) for z, rf in zips]


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m emotion.training.download", description="Download RAVDESS audio (Zenodo record 1188976)."
    )
    ap.add_argument("--dest", required=True, type=Path, help="folder for the zips and unpacked audio")
    ap.add_argument("--base-url", default=BASE_URL, help="server to download from (default: Zenodo)")
    ap.add_argument("--only", choices=[f.subdir for f in FILES], help="fetch only one archive")
    ap.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    args = ap.parse_args(argv)
    files = [f for f in FILES if args.only in (None, f.subdir)]
    base = args.base_url if args.base_url.endswith("/") else args.base_url + "/"
    try:
        folders = download(args.dest, files, base, progress=not args.no_progress)
    except DownloadError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    for folder in folders:
        print(f"unpacked into {folder}")
    print(f"Next: python -m emotion.training.train --data-dir {args.dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
