"""The Faust app: score events, learn from labels, measure drift (one module per stage)."""
