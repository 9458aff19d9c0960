"""Label matchers, written as Alertmanager writes them: ``name=value``, ``name!=value``, ``name=~regex``,
``name!~regex``. ``name=""`` matches an alert that does not have the label (or has it empty), so
"label absent" needs no operator of its own. Regular expressions are anchored at both ends.

One syntax for silences (CLI, service, database) and for inhibitions (config), so an officer who has
written one can read the other.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property

OPERATORS = ("=~", "!~", "!=", "=")  # longest first: "!=" must not be read as "!" + "="
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class MatcherError(ValueError):
    """A matcher cannot be parsed; the message shows which one and why."""


@dataclass(frozen=True)
class Matcher:
    name: str
    op: str
    value: str

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise MatcherError(f"{self}: {self.name!r} is not a label name")
        if self.op not in OPERATORS:
            raise MatcherError(f"{self}: operator must be one of {', '.join(OPERATORS)}")
        if self.op in ("=~", "!~"):
            try:
                re.compile(self.value)
            except re.error as exc:
                raise MatcherError(f"{self}: bad regular expression ({exc})") from None

    @cached_property
    def _regex(self) -> re.Pattern[str]:
        return re.compile(f"(?:{self.value})\\Z")

    def matches(self, labels: Mapping[str, str]) -> bool:
        value = labels.get(self.name) or ""  # absent and empty are the same, as in Alertmanager
        if self.op == "=":
            return value == self.value
        if self.op == "!=":
            return value != self.value
        hit = self._regex.match(value) is not None
        return hit if self.op == "=~" else not hit

    def __str__(self) -> str:
        return (
            f"{self.name}{self.op}{self.value!r}" if self.value == "" else f"{self.name}{self.op}{self.value}"
        )

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "op": self.op, "value": self.value}

    @classmethod
    def parse(cls, text: str) -> Matcher:
        """``district=510104``, ``rule=~"camera_.*"``, ``severity!=warning``, ``device=""`` (absent)."""
        for op in OPERATORS:
            name, sep, value = text.partition(op)
            if sep and "!" not in name and "=" not in name and "~" not in name:
                value = value.strip()
                if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                    value = value[1:-1]
                return cls(name.strip(), op, value)
        raise MatcherError(
            f"{text!r} is not a matcher (label=value, label!=value, label=~regex, label!~regex)"
        )


def parse_all(items: Iterable[str | Mapping | Matcher] | Mapping[str, str]) -> tuple[Matcher, ...]:
    """Matchers from strings, stored dicts, or a plain ``{label: value}`` mapping (equality, the old form)."""
    if isinstance(items, Mapping):
        return tuple(Matcher(k, "=", str(v)) for k, v in items.items())
    out = []
    for item in items:
        if isinstance(item, Matcher):
            out.append(item)
        elif isinstance(item, Mapping):
            out.append(Matcher(item["name"], item.get("op", "="), str(item.get("value", ""))))
        else:
            out.append(Matcher.parse(str(item)))
    return tuple(out)


def match_all(matchers: Iterable[Matcher], labels: Mapping[str, str]) -> bool:
    return all(m.matches(labels) for m in matchers)
