"""Errors a person can act on: each names the problem and the fix."""

from __future__ import annotations


class PlannerError(Exception):
    """Bad input (unknown id, broken file, impossible layout). ``str()`` is the message to show."""

    def __init__(self, message: str, fix: str = "", where: str = "") -> None:
        self.message = message
        self.fix = fix
        self.where = where
        super().__init__(self.__str__())

    def __str__(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        if self.fix:
            text += f"\n  fix: {self.fix}"
        return text


class CatalogError(PlannerError):
    """A catalog file is broken or an id is unknown."""


class PlanError(PlannerError):
    """A plan cannot be evaluated as it stands (missing GPU, layer ranges with gaps ...)."""


class PlanFileError(PlannerError):
    """A .gpuplan file cannot be read: names the file, the place and the problem."""
