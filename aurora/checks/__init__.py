"""Checks on images and hosts: verify (rules on manifest and config), smoke (run it), doctor (this host)."""
