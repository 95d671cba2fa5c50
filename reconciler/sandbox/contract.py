"""One vendor contract suite; each vendor adds a case module here (case_<vendor>.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from reconciler.sandbox import Sandbox


@dataclass
class VendorCase:
    """What the shared suite needs from a vendor to prove its provider against the sandbox."""

    vendor: str
    state: dict[str, Any]
    """The vendor's sandbox state slice before the run."""
    manifests: str
    """Manifest YAML (multi-document) that differs from `state`: the first plan has changes."""
    expected_writes: list[tuple[str, str]]
    """Every write the first apply makes: (method, path under the sandbox root), any order."""
    meddle: Callable[[Sandbox], None]
    """An out-of-band change to `meddled` (an object the plan updates)."""
    meddled: str
    """The address of the object `meddle` changes."""
    survived: Callable[[Sandbox], bool]
    """True when the out-of-band change is still in the sandbox's state."""
    config: str = ""
    """Extra provider settings for the test config, as `alias.key: value` lines."""
