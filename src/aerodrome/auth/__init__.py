"""Authentication (self-issued or OIDC tokens), per-project roles and the OAuth2 endpoints flytekit uses."""
