"""lookout.api: the REST + WebSocket API and the web map server.

``create_app(store, hub=...)`` builds the FastAPI app; ``LiveHub`` is the live picture the
pipeline publishes to and the WebSocket stream reads from.
"""

from lookout.api.app import create_app
from lookout.api.live import LiveHub

__all__ = ["LiveHub", "create_app"]
