"""fleetfit: which nodes should a Kubernetes cluster run, and at what cost.

The engine is Rust (``fleetfit._native``); this package gives it a Python shape. Every call
releases the GIL while the engine works, so threads can run many what-if scenarios at once.

>>> import fleetfit
>>> inventory = fleetfit.parse_manifests(open("deploy.yaml").read(), "deploy.yaml")  # doctest: +SKIP
>>> len(inventory["pods"])  # doctest: +SKIP
3
"""

from __future__ import annotations

import json
from typing import Any

from fleetfit import _native
from fleetfit._native import InputError

__all__ = ["InputError", "__version__", "parse_manifests"]

__version__: str = _native.__version__


def parse_manifests(text: str, source_name: str = "<string>") -> dict[str, Any]:
    """Parse Kubernetes YAML or JSON into fleetfit's inventory.

    ``text`` may hold several documents, a ``kind: List`` or ``kubectl get -o json`` output.
    Workloads (Deployments, StatefulSets, Jobs, ...) are expanded into one pod per replica.
    ``source_name`` (a file name, say) is used in error messages.

    Returns a dict with the keys ``pods``, ``workloads``, ``daemonsets``, ``nodes``,
    ``nodepools``, ``nodeclasses``, ``pdbs``, ``pvcs``, ``pvs``, ``storage_classes`` and
    ``skipped`` (objects that play no part in scheduling), in the same JSON shape the CLI
    prints.

    Raises :class:`InputError` (a ``ValueError``) when the input cannot be used; the message
    names the object and field, e.g. ``Deployment shop/web:
    spec.template.spec.containers[0].resources.requests.cpu: invalid quantity "1.5x"``.
    """
    inventory: dict[str, Any] = json.loads(_native.parse_manifests_json(text, source_name))
    return inventory
