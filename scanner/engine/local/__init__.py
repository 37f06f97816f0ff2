"""The local engine: a coordinator, a shared-memory slab and a pool of worker processes."""
