"""Archive Genesys Cloud CX recordings into S3, one verified day at a time."""

from recording_assets.settings import prefer_system_malloc_for_arrow

# Before anything allocates through Arrow: its C++ allocator is fixed on first use (allocator.py says why).
prefer_system_malloc_for_arrow()

__version__ = "0.1.0"
