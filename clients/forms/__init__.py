"""Forms of the clients pages, one module per subject (clients, members)."""
