"""The core layer: errors and exit codes, where data and the cache live, the cache, strict TOML reading, sizes,
progress. Knows nothing about building or booting; every other layer may use it."""
