"""Forms of the credits pages, one module per area; shared fields in `fields`."""
