"""The rule kinds, one module each, named for the rule ``type`` of the rules file.

``RULE_KINDS`` maps a ``type`` to its implementation; ``operator_located`` is not among them: it
adds the operator's position to the hits of the other rules (:class:`OperatorLocator`).
"""

from __future__ import annotations

from lookout.rules.kinds.approach import ApproachImpl
from lookout.rules.kinds.border_crossing import BorderCrossingImpl
from lookout.rules.kinds.loiter import LoiterImpl
from lookout.rules.kinds.operator_located import OperatorLocator
from lookout.rules.kinds.remote_id_missing import RemoteIdMissingImpl
from lookout.rules.kinds.remote_id_spoof import RemoteIdSpoofImpl
from lookout.rules.kinds.zone import ZoneRuleImpl
from lookout.rules.rule import Rule

RULE_KINDS: dict[str, type[Rule]] = {
    "zone": ZoneRuleImpl, "border_crossing": BorderCrossingImpl, "approach": ApproachImpl, "loiter": LoiterImpl,
    "remote_id_missing": RemoteIdMissingImpl, "remote_id_spoof": RemoteIdSpoofImpl,
}

__all__ = ["RULE_KINDS", "ApproachImpl", "BorderCrossingImpl", "LoiterImpl", "OperatorLocator", "RemoteIdMissingImpl",
           "RemoteIdSpoofImpl", "ZoneRuleImpl"]
