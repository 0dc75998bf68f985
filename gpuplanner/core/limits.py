"""The limits every input is checked against, and a JSON reader that keeps to them.

One place for the numbers, so the plan model, the command line, the model import and the window's
spin boxes agree: a value one of them accepts, every other can hold (Qt spin boxes take 32-bit
integers), and no work anywhere grows with a number a person typed beyond these bounds.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from gpuplanner.core.errors import PlannerError

INT32_MAX = 2**31 - 1

MAX_FILE_BYTES = 32 * 1024 * 1024  # a 4,096-GPU plan file is about 1.5 MB
MAX_JSON_DEPTH = 64  # a plan file nests about 8 levels
MAX_NUMBER_DIGITS = 40  # digits in one JSON number; a 64-bit integer has 20
MAX_ID_CHARS = 256  # catalog ids, GPU / node / link ids (Hugging Face repo ids are at most 96)
MAX_NAME_CHARS = 1_000
MAX_TEXT_CHARS = 100_000  # a plan's description

MAX_SLOTS = 128  # slots in one server (and NICs: a GB200 NVL72 rack has 72)
MAX_NODES = 4_096
MAX_GPUS = 8_192  # GPUs in one plan
MAX_LINKS = 65_536  # explicit GPU-to-GPU links in one plan
MAX_LAYERS = 2_048  # transformer layers of a model (the largest published models have under 200)
MAX_TOKENS = 2**24  # 16,777,216: prompt, output, context and batch tokens (Llama 4 Scout: 10,485,760)
MAX_CONCURRENCY = 1_000_000  # sequences at once (and max_num_seqs)
MAX_HOST_RAM_GIB = 65_536  # system RAM of one server, GiB (the largest 8-socket servers hold 32 TiB)
# prefill chunks of one prompt times the pipeline stages each passes: the estimate walks every one
# (about 150 µs each with its bands), so this keeps an evaluation well under a second
MAX_PREFILL_STEPS = 4_096
MAX_COORDINATE = 1e7  # canvas position of a server, scene units

# model architecture sizes (a config.json or an embedded model_spec); far above any published model
MAX_HIDDEN = 2**20
MAX_INTERMEDIATE = 2**22
MAX_HEADS = 2**14
MAX_VOCAB = 2**24
MAX_EXPERTS = 2**14


def _fail(error: type[PlannerError], source: str, message: str, fix: str) -> NoReturn:
    raise error(message, fix=fix, where=source)


def read_text_limited(
    path: str | os.PathLike[str],
    *,
    error: type[PlannerError] = PlannerError,
    max_bytes: int = MAX_FILE_BYTES,
    what: str = "file",
) -> str:
    """The UTF-8 text of ``path``, reading at most ``max_bytes`` (a device or a huge file stops there).

    Raises ``error`` naming the file for a missing file, a folder, an unreadable or non-text file,
    and a file over the limit.
    """
    p = Path(path)
    where = str(p)
    try:
        with open(p, "rb") as handle:
            data = handle.read(max_bytes + 1)
    except FileNotFoundError:
        _fail(error, where, "no such file", "check the path")
    except IsADirectoryError:
        _fail(error, where, f"this is a folder, not a {what}", f"pick a {what}")
    except OSError as e:
        _fail(error, where, f"cannot read it: {e.strerror or e}", "check the file's permissions")
    if len(data) > max_bytes:
        _fail(
            error,
            where,
            f"the file is larger than {max_bytes // (1024 * 1024)} MiB; a {what} is far smaller",
            f"pick a {what}",
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        _fail(error, where, "not a text file (it is not UTF-8)", f"pick a {what}")


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise _NumberError(f"the number {text[:12]}… has {len(text)} digits")
    return int(text)


def _parse_float(text: str) -> float:
    if len(text) > MAX_NUMBER_DIGITS + 10:
        raise _NumberError(f"the number {text[:12]}… is {len(text)} characters long")
    value = float(text)
    if not math.isfinite(value):
        raise _NumberError(f"the number {text} is too large")
    return value


def _parse_constant(text: str) -> float:
    raise _NumberError(f"{text} is not a number JSON allows")


class _NumberError(ValueError):
    pass


def depth_of(data: Any) -> int:
    """How deeply lists and objects nest in ``data`` (a scalar is 0), without recursion."""
    deepest = 0
    todo: list[tuple[Any, int]] = [(data, 0)]
    while todo:
        item, depth = todo.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        depth += 1
        deepest = max(deepest, depth)
        if depth > MAX_JSON_DEPTH:
            return depth
        todo.extend((child, depth) for child in children)
    return deepest


def parse_json(
    text: str,
    *,
    source: str = "<text>",
    error: type[PlannerError] = PlannerError,
    fix: str = "restore the file from a backup or fix it in a text editor",
    on_syntax: Callable[[json.JSONDecodeError], str] | None = None,
) -> Any:
    """``json.loads`` within the limits: no NaN or Infinity, no number longer than 40 digits, no
    nesting deeper than 64 levels, no text over 32 MiB. Raises ``error`` naming ``source``;
    ``on_syntax`` words the whole message for a syntax error."""
    if len(text) > MAX_FILE_BYTES:
        _fail(error, source, f"the text is longer than {MAX_FILE_BYTES // (1024 * 1024)} MiB", fix)
    try:
        data = json.loads(
            text, parse_int=_parse_int, parse_float=_parse_float, parse_constant=_parse_constant
        )
    except json.JSONDecodeError as e:
        if on_syntax:  # the caller words the whole message (file name included)
            raise error(on_syntax(e), fix=fix) from None
        _fail(error, source, f"line {e.lineno}, column {e.colno}: not valid JSON: {e.msg}", fix)
    except _NumberError as e:
        _fail(error, source, f"{e}: numbers must be finite and at most {MAX_NUMBER_DIGITS} digits", fix)
    except RecursionError:
        _fail(error, source, f"lists or objects nest more than {MAX_JSON_DEPTH} levels deep", fix)
    except ValueError as e:  # anything else json refuses (e.g. Python's integer-digit limit)
        _fail(error, source, f"not valid JSON: {e}", fix)
    if depth_of(data) > MAX_JSON_DEPTH:
        _fail(error, source, f"lists or objects nest more than {MAX_JSON_DEPTH} levels deep", fix)
    return data
