"""Forms of the billing pages: input checked here, then one service call."""
