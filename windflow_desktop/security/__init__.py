"""Password hashing, tokens and the keyring secret store."""
