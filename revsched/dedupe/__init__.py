"""Duplicate detection: normalize records, block, compare, and cluster with explanations."""
