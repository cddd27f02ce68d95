"""Bar intervals: `1s 5s 1m 2m 5m 15m 30m 1h 1d 1w` and the like.

An interval knows its base (the interval it is derived from): seconds derive
from 1s, minutes and hours from 1m, days and weeks from 1d. A base interval
is its own base and is read from the store; every other one is derived.
"""

from __future__ import annotations

import re
from functools import total_ordering
from typing import TYPE_CHECKING, Any

from specs.errors import SpecError

if TYPE_CHECKING:  # pydantic is imported when it asks for the schema, so that parsing an interval does not load it
    from pydantic import GetCoreSchemaHandler
    from pydantic_core import core_schema

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_UNIT_BASE = {"s": "1s", "m": "1m", "h": "1m", "d": "1d", "w": "1d"}
_PATTERN = re.compile(r"^([1-9][0-9]*)([smhdw])$")


class IntervalError(SpecError):
    """A string that is not an interval; the message names the value."""


@total_ordering
class Interval:
    """A bar length such as `5m`. Immutable, hashable, ordered by length.

    `text` is its canonical spelling (what `str` gives), kept as an attribute because the state's
    dictionaries are keyed by it on every replayed event.
    """

    __slots__ = ("_count", "_unit", "text")
    _count: int
    _unit: str
    text: str

    def __init__(self, text: str | Interval) -> None:
        if isinstance(text, Interval):
            self._count, self._unit, self.text = text._count, text._unit, text.text
            return
        if not isinstance(text, str):
            raise IntervalError(f"interval must be a string like '5m', got {text!r}")
        match = _PATTERN.match(text.strip())
        if match is None:
            raise IntervalError(
                f"invalid interval {text!r}: expected a positive count and a unit "
                "s, m, h, d or w (e.g. '1m', '5m', '1h', '1d')"
            )
        self._count = int(match.group(1))
        self._unit = match.group(2)
        self.text = f"{self._count}{self._unit}"

    @classmethod
    def parse(cls, text: str | Interval) -> Interval:
        return cls(text)

    @property
    def count(self) -> int:
        return self._count

    @property
    def unit(self) -> str:
        return self._unit

    @property
    def seconds(self) -> int:
        """Nominal length in seconds (a day is 86,400 s, not a session)."""
        return self._count * _UNIT_SECONDS[self._unit]

    @property
    def base(self) -> Interval:
        base = _BASES.get(self._unit)
        if base is None:
            base = _BASES[self._unit] = Interval(_UNIT_BASE[self._unit])
        return base

    @property
    def is_base(self) -> bool:
        return self._count == 1 and _UNIT_BASE[self._unit] == f"1{self._unit}"

    @property
    def is_intraday(self) -> bool:
        return self._unit in ("s", "m", "h")

    @property
    def base_multiple(self) -> int:
        """How many base bars make one bar of this interval."""
        return self.seconds // self.base.seconds

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"Interval({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            try:
                other = Interval(other)
            except IntervalError:
                return False
        if not isinstance(other, Interval):
            return NotImplemented
        return self.seconds == other.seconds and _UNIT_BASE[self._unit] == _UNIT_BASE[other._unit]

    def __lt__(self, other: Interval) -> bool:
        return self.seconds < Interval(other).seconds

    def __hash__(self) -> int:
        return hash(self.seconds)

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        from pydantic_core import core_schema

        return core_schema.no_info_plain_validator_function(
            cls._validate,
            serialization=core_schema.plain_serializer_function_ser_schema(str),
            json_schema_input_schema=core_schema.str_schema(),
        )

    @classmethod
    def _validate(cls, value: Any) -> Interval:
        if isinstance(value, str):
            # Intervals are immutable, so one parsed instance per spelling serves every event read
            # from a log (the replay parses millions of them).
            parsed = _PARSED.get(value)
            if parsed is not None:
                return parsed
            try:
                parsed = cls(value)
            except IntervalError as exc:
                raise ValueError(str(exc)) from None
            if len(_PARSED) < _PARSED_MAX:
                _PARSED[value] = parsed
            return parsed
        if isinstance(value, Interval):
            return value
        raise ValueError(f"interval must be a string like '5m', got {value!r}")


#: One base instance per unit: intervals are immutable, and `base` is asked for on every comparison's behalf.
_BASES: dict[str, Interval] = {}
_PARSED: dict[str, Interval] = {}
_PARSED_MAX = 4096
