"""Every user-facing Chinese text of cadrebot lives in this package, one module per feature."""
