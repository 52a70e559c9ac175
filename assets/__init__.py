"""Tingxie's icons, installed as ``tingxie.assets`` (data files only)."""
