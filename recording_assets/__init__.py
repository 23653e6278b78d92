"""Archive Genesys Cloud CX recordings into S3, one verified day at a time."""

__version__ = "0.1.0"
