"""Pages of the credits app, one module per area: each view validates its input, makes one
selector or service call, and renders (rules of the house)."""
