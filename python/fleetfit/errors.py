"""The exceptions fleetfit raises. Every message names the object and field at fault."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fleetfit.results import Plan

__all__ = ["FleetfitError", "InfeasibleError", "InputError"]


class FleetfitError(Exception):
    """The base of fleetfit's exceptions."""


class InputError(FleetfitError, ValueError):
    """The input cannot be used: a manifest, catalog, trace or argument.

    The message names the object and field, e.g. ``Deployment shop/web:
    spec.template.spec.containers[0].resources.requests.cpu: invalid quantity "1.5x"``.
    """


class InfeasibleError(FleetfitError):
    """Some pods have nowhere to go (``plan(..., strict=True)``).

    ``plan`` is the plan that was made (its ``unschedulable`` table says why, per pod).
    """

    def __init__(self, message: str, plan: Plan | Any = None) -> None:
        super().__init__(message)
        self.plan = plan
