"""lookout.share: interagency sharing.

* :mod:`lookout.share.releasability`: what each agency may receive (labels, share rules,
  downgrading), the one place every output filters through;
* :mod:`lookout.share.cot`: Cursor-on-Target events out (tracks, operators, alerts) and in
  (blue-force positions and ATAK sighting reports), TAK protobuf via takproto, format ``cot``;
* :mod:`lookout.share.transport`: TCP, TLS (client certificates), UDP multicast senders and a
  CoT listener; :mod:`lookout.share.feed`: a per-agency live CoT feed.
"""

from lookout.share.releasability import (
    OPEN,
    Agency,
    ShareRule,
    filter_alert_dicts,
    filter_alerts,
    filter_observations,
    filter_points,
    filter_track_dicts,
    filter_tracks,
    filter_zones,
)

__all__ = ["OPEN", "Agency", "ShareRule", "filter_alert_dicts", "filter_alerts", "filter_observations",
           "filter_points", "filter_track_dicts", "filter_tracks", "filter_zones"]
