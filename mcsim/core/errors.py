"""The errors mcsim raises for bad input: each names the field and the rule it breaks."""

from __future__ import annotations


def one_line(text: str) -> str:
    """``text`` with line breaks and other unprintable characters escaped, so a message stays one line."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


class McsimError(Exception):
    """Base class of the errors that the CLI reports as one line with exit code 2."""


class ProfileError(McsimError):
    """A profile field breaks a rule; ``field`` is its dotted path, e.g. ``accounts[0].balance``."""

    def __init__(self, field: str, rule: str) -> None:
        self.field = one_line(field)
        self.rule = one_line(rule)
        super().__init__(f"{self.field}: {self.rule}" if field else self.rule)


class ParameterError(McsimError, ValueError):
    """An option or argument of an API call or command breaks a rule (also a ValueError)."""

    def __init__(self, name: str, rule: str) -> None:
        self.name = one_line(name)
        self.rule = one_line(rule)
        super().__init__(f"{self.name}: {self.rule}")
