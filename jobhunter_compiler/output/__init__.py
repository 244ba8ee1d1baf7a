"""The last stage: what reaches the output folder. `writer` plans and applies the emitted
files (only what changed, never a half-written folder); `freshness` records what a build
was made from, so a compile that would change nothing is skipped."""
