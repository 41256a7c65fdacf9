"""Record ``data/reference_tracks.json.gz`` from the current tracker.

Run only for an intended change of tracking behaviour (``python tests/tracking/make_reference.py``
from the repository root), and say so in the commit: the reference test then guards every later
optimisation against changing results.
"""

import gzip
import json
import sys

sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
import test_reference as tr_mod

from lookout.sim import Scenario, ScenarioConfig
from lookout.tracking import Tracker

out = {}
for case, (cfg, seconds) in tr_mod.CASES.items():
    sc = Scenario(ScenarioConfig(seed=7, duration_s=seconds))
    tr = Tracker(cfg, frame=sc.sector.frame)
    steps = []
    for s in sc.steps(1.0):
        u = tr.update(s.time + 1.0, list(s.observations))
        steps.append([[tr_mod._row(t) for t in u.updated], [tr_mod._row(t) for t in u.deleted]])
    out[case] = {"steps": steps, "stats": vars(tr.stats)}
with gzip.open(tr_mod.REF, "wt") as f:
    json.dump(out, f)
print("ok", {k: len(v["steps"]) for k, v in out.items()})
