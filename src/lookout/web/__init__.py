"""The web map (common operating picture): the built static front end lives in ``static/``;
its source is in the repository's ``web/`` folder (``npm --prefix web run build``)."""
