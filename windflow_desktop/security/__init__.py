"""Password hashing, tokens, the keyring secret store and the role → permission table."""
