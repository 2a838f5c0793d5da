"""Plain domain objects, enums, errors and event names: no I/O, no Qt."""
