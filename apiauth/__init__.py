"""Service tokens for the internal API: hashed bearer tokens with scopes, revocation and throttling."""
