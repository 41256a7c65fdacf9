"""Generated protobuf classes for a wire-compatible subset of SAPIENT BSI Flex 335 v2.0
(see ``sapient.proto`` for what is included and how to regenerate ``sapient_pb2.py``)."""
