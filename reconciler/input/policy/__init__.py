"""The operator's policy (`--policy FILE`, RECONCILER_POLICY): a floor of settings the
workspace may only tighten, the only accounts it may use, and the governance block.

`file` loads and checks the policy, `floor` computes the settings in force (`effective`,
the one place they are computed) and the governance block, `review` says what a reviewer
must see first (`allows`, `risks`).
"""

from reconciler.governance import guards
from reconciler.input.policy.file import ENV, KIND, RULE, Policy, load, locate
from reconciler.input.policy.floor import (
    DEFAULT_MAX_NEW_MEMBERS,
    FLOORS,
    check_allow,
    default_admin,
    effective,
)
from reconciler.input.policy.review import allows, risks

__all__ = [
    "DEFAULT_MAX_NEW_MEMBERS",
    "ENV",
    "FLOORS",
    "KIND",
    "RULE",
    "Policy",
    "allows",
    "check_allow",
    "default_admin",
    "effective",
    "guards",
    "load",
    "locate",
    "risks",
]
