"""``windflow serve``: the REST API over the same services the desktop uses (the Qt-free
``Workspace``), bearer tokens with refresh. Its dependencies (FastAPI, uvicorn) are the
``server`` extra: nothing the desktop imports, nothing in the desktop bundle."""
