"""aurora: package a Zero app's front end and back end into one OCI image."""

__version__ = "0.1.0"
