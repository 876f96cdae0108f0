"""The YAML format: files on disk, their marks, and the typed documents they define."""
