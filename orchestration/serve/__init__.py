"""What analysts get: the published snapshot of the warehouse."""
