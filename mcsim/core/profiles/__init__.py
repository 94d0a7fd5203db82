"""Profiles that ship inside the package (one TOML file each)."""
