"""Archive Genesys Cloud CX recordings into S3, one verified day at a time.

Importing the package does nothing else: process setup is ``runtime.setup_process()``'s, called by the
code location and the command line when they start."""

__version__ = "0.1.0"
