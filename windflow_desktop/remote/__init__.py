"""The desktop as a client of a WindFlow server: one ``httpx.AsyncClient`` per server
with a bearer-token auth flow (one refresh on 401, shared by every request waiting on
it), the server's answers turned back into the domain's errors, and the live events
read from its stream. Nothing here opens a database, Redis or an SSH connection."""
