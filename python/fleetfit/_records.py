"""Typed records built from the engine's JSON, and tables of them that become DataFrames."""

from __future__ import annotations

import re
from typing import Any, Callable, Generic, Iterator, Mapping, Sequence, TypeVar, overload

from fleetfit import _native

T = TypeVar("T")

GIB = float(1 << 30)
_BYTES = ("memory", "ephemeral-storage")


def quantity(text: str) -> float:
    """A Kubernetes quantity in base units: ``quantity("1500m") == 1.5``, ``"1Gi"`` is bytes."""
    return _native.parse_quantity(text)


def resource_columns(prefix: str, resources: dict[str, str]) -> dict[str, float]:
    """``{"cpu": "1500m", "memory": "2Gi", "nvidia.com/gpu": "1"}`` as ``{prefix_cpu: 1.5,
    prefix_memory_gib: 2.0, prefix_nvidia_com_gpu: 1.0}``: CPU in cores, memory-like resources
    in GiB, everything else (pods, GPUs, ENIs) as a count; names as :func:`column` makes them."""
    out: dict[str, float] = {}
    for name, text in resources.items():
        value = quantity(text)
        if name in _BYTES or name.startswith("hugepages-"):
            out[column(f"{prefix}_{name}_gib")] = value / GIB
        else:
            out[column(f"{prefix}_{name}")] = value
    return out


def column(name: str) -> str:
    """A plain column name: every run of characters other than letters, digits and ``_``
    becomes one ``_`` (``requests_nvidia.com/gpu`` is ``requests_nvidia_com_gpu``), so that
    ``frame.requests_nvidia_com_gpu`` and ``frame.query(...)`` work."""
    return re.sub(r"[^0-9A-Za-z_]+", "_", name)


def frame(data: Sequence[Mapping[str, Any]] | Mapping[str, Any], columns: Sequence[str] = ()) -> Any:
    """The one way fleetfit makes a ``pandas.DataFrame``: from records (one row each) or from
    columns (a mapping of name to values). Columns come in the order of ``columns`` (there
    even when there are no rows), then as the records introduce them; a value a record lacks
    is a resource it does not have, so 0 (a node without GPUs has ``0`` of them, not NaN);
    names are plain (:func:`column`)."""
    pandas = require_pandas()
    if isinstance(data, Mapping):
        return pandas.DataFrame({column(k): v for k, v in data.items()})
    names = [column(c) for c in columns]
    rows = [{column(k): v for k, v in r.items()} for r in data]
    for r in rows:
        names.extend(c for c in r if c not in names)
    return pandas.DataFrame([{c: r.get(c, 0) for c in names} for r in rows], columns=names)


def require_pandas() -> Any:
    """pandas, or an ImportError that says how to get it."""
    try:
        import pandas
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("to_pandas() needs pandas: pip install 'fleetfit[pandas]'") from e
    return pandas


class Table(Sequence[T], Generic[T]):
    """A list of records with ``to_pandas()``: one row per record, flat columns."""

    def __init__(self, rows: Sequence[T], row: Callable[[T], dict[str, Any]], columns: Sequence[str]) -> None:
        self._rows = list(rows)
        self._row = row
        self._columns = list(columns)

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> Table[T]: ...

    def __getitem__(self, index: int | slice) -> T | Table[T]:
        if isinstance(index, slice):
            return Table(self._rows[index], self._row, self._columns)
        return self._rows[index]

    def __len__(self) -> int:
        return len(self._rows)

    def __iter__(self) -> Iterator[T]:
        return iter(self._rows)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Table):
            return self._rows == other._rows
        if isinstance(other, list):
            return self._rows == other
        return NotImplemented

    def __repr__(self) -> str:
        return f"Table({self._rows!r})"

    def to_pandas(self) -> Any:
        """A ``pandas.DataFrame``: one row per record, the same columns even when empty;
        resources a record does not have are 0 (see :func:`frame`)."""
        return frame([self._row(r) for r in self._rows], self._columns)
