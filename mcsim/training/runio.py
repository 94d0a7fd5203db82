"""Run-directory files, written atomically: a reader sees the old file or the new one, never half."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..core.errors import ParameterError


def publish(temporary: str | Path, path: Path) -> None:
    """Give a finished temporary file the usual permissions (mkstemp makes it private) and rename it to ``path``."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(temporary, 0o666 & ~umask)
    os.replace(temporary, path)


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as JSON to ``path`` through a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        publish(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def read_json(path: Path) -> Any:
    """Read a JSON file (plain data only: nothing is unpickled)."""
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def file_problem(path: Path) -> str | None:
    """Why ``path`` cannot be read as a file (missing, a folder, empty), or None if it can be tried."""
    if not path.exists():
        return "is missing"
    if not path.is_file():
        return "is a folder, not a file" if path.is_dir() else "is not a regular file"
    if path.stat().st_size == 0:
        return "is empty"
    return None


def brief(error: BaseException) -> str:
    """An exception's first sentence of its first line (at most 160 characters), or its type when it says nothing."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    text = lines[0].split(". ")[0] if lines else type(error).__name__
    return text if len(text) <= 160 else text[:157] + "..."


def read_json_object(path: Path) -> dict[str, Any]:
    """A JSON file that must hold an object; every problem is one ParameterError naming ``path``."""
    problem = file_problem(path)
    if problem is not None:
        raise ParameterError(str(path), problem)
    try:
        data = read_json(path)
    except UnicodeDecodeError:
        raise ParameterError(str(path), "is not UTF-8 text (corrupt?)") from None
    except json.JSONDecodeError as error:
        raise ParameterError(str(path), f"is not valid JSON, truncated or corrupt ({error})") from None
    except OSError as error:
        raise ParameterError(str(path), f"cannot be read ({error.strerror or brief(error)})") from None
    if not isinstance(data, dict):
        raise ParameterError(str(path), f"holds a JSON {json_kind(data)}, not an object")
    return data


def json_kind(value: Any) -> str:
    """The JSON name of a parsed value's type (object, list, string, number, boolean, null)."""
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    return "null" if value is None else "number"


@contextmanager
def replace_directory(target: Path) -> Iterator[Path]:
    """Yield a fresh temporary folder beside ``target``; on success it replaces ``target`` whole.

    An interruption leaves ``target`` as it was (the last complete checkpoint stays whole).
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    try:
        yield temporary
        old = target.parent / f".{target.name}.old"
        if old.exists():
            shutil.rmtree(old)
        if target.exists():
            os.replace(target, old)
        os.replace(temporary, target)
        if old.exists():
            shutil.rmtree(old)
    finally:
        if temporary.exists():
            shutil.rmtree(temporary)
