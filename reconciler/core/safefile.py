"""Every file the tool writes: never through a symlink, always renamed into place whole."""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from reconciler.core.errors import ReconcilerError

# A pull request's files sit in the checkout the tool runs in: a link it committed at an
# output path (or on the way to one) could aim the write at the script running the job.


def _is_link(path: Path) -> bool:
    try:
        return stat.S_ISLNK(os.lstat(path).st_mode)
    except OSError:
        return False


def _checked_dirs(directory: Path) -> list[Path]:
    """The directories on the way to `directory` that a link may not stand in: every one
    below the current directory (the checkout) and `directory` itself. Above the current
    directory, and for a path outside it, the operator chose the path (/tmp may be a link)."""
    absolute = Path(os.path.abspath(directory))
    cwd = Path(os.path.abspath(os.getcwd()))
    if absolute == cwd:
        return []
    if cwd not in absolute.parents:
        return [absolute]
    rel = absolute.relative_to(cwd).parts
    return [cwd.joinpath(*rel[: n + 1]) for n in range(len(rel))]


def refuse_links(path: str | Path, *, replace_link: bool = False, what: str = "") -> None:
    """Raise when writing `path` would go through a symlink: the file itself (unless
    `replace_link`: then the link is replaced, never its target) or a directory on the
    way to it."""
    target = Path(path)
    label = f"{what} {path}" if what else str(path)
    for directory in _checked_dirs(target.parent):
        if _is_link(directory):
            raise ReconcilerError(
                f"{label}: {directory} is a symbolic link; refusing to write through it"
            )
    if _is_link(target) and not replace_link:
        raise ReconcilerError(
            f"{label} is a symbolic link; refusing to write through it "
            "(remove it, or choose another path)"
        )


def refuse_linked_dir(directory: str | Path, *, what: str = "") -> None:
    """Raise when `directory`, or one below the current directory on the way to it, is a
    symlink: files written into it would land wherever the link points."""
    path = Path(directory)
    label = f"{what} {directory}" if what else str(directory)
    for step in [*_checked_dirs(path.parent), Path(os.path.abspath(path))]:
        if _is_link(step):
            raise ReconcilerError(
                f"{label}: {step} is a symbolic link; refusing to write through it"
            )


def make_dirs(directory: str | Path, *, what: str = "") -> None:
    """Create `directory` and its parents, refusing a linked directory (refuse_linked_dir)."""
    path = Path(directory)
    label = f"{what} {directory}" if what else str(directory)
    refuse_linked_dir(path, what=what)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReconcilerError(f"{label}: cannot create the directory ({exc.strerror})") from None


def _file_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def write_text(
    path: str | Path,
    text: str,
    *,
    replace_link: bool = False,
    what: str = "",
) -> None:
    """Write `text` (UTF-8) to `path` through a new temporary file beside it (opened with
    O_CREAT|O_EXCL|O_NOFOLLOW), fsynced, then renamed onto `path`. A symlink at `path` is
    refused unless `replace_link`; a symlink on the way to it is always refused. Line
    ends are written as given."""
    write_bytes(path, text.encode("utf-8"), replace_link=replace_link, what=what)


def write_bytes(
    path: str | Path, data: bytes, *, replace_link: bool = False, what: str = ""
) -> None:
    """`write_text` for bytes."""
    target = Path(path)
    label = f"{what} {path}" if what else str(path)
    refuse_links(target, replace_link=replace_link, what=what)
    if not _is_link(target) and target.is_dir():
        raise ReconcilerError(f"{label}: is a directory")
    directory = target.parent
    tmp = directory / f".{target.name}.{secrets.token_hex(6)}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(tmp, flags, 0o600)
    except OSError as exc:
        raise ReconcilerError(f"{label}: cannot write ({exc.strerror})") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
            os.fchmod(fh.fileno(), _file_mode())
        os.replace(tmp, target)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise ReconcilerError(f"{label}: cannot write ({exc.strerror})") from None
