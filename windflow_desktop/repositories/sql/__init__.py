"""SQLAlchemy 2.0 async implementation of the repository protocols (SQLite, PostgreSQL)."""
