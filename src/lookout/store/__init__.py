"""Persistent store: SQLite (embedded default) and PostgreSQL behind one interface."""
