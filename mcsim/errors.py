"""The errors mcsim raises for bad input: each names the field and the rule it breaks."""

from __future__ import annotations


class McsimError(Exception):
    """Base class of the errors that the CLI reports as one line with exit code 2."""


class ProfileError(McsimError):
    """A profile field breaks a rule; ``field`` is its dotted path, e.g. ``accounts[0].balance``."""

    def __init__(self, field: str, rule: str) -> None:
        self.field = field
        self.rule = rule
        super().__init__(f"{field}: {rule}" if field else rule)


class ParameterError(McsimError):
    """An option or argument of an API call or command breaks a rule."""

    def __init__(self, name: str, rule: str) -> None:
        self.name = name
        self.rule = rule
        super().__init__(f"{name}: {rule}")
