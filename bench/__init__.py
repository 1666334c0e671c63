"""chatdesk's benchmarks: loopback only, server pinned to core 0, load generators to core 1."""
