"""The demo's operations. Each module holds one @operation function with its schemas."""
