"""The application layer: the only place besides `cli/` that wires several core packages together
(simulate or generate to a file, validation runs, acceptance checks, precision pairs, the peers, the
demo, the benchmarks). docs/architecture.md has the layering."""
