"""``aurora.toml``: the config model (fields, app, kube, policy), its loader and the starter file."""

from aurora.config.app import CONFIG_NAME, Bases, Config
from aurora.config.frontend import LOCKFILES, Frontend
from aurora.config.kube import IstioTraffic, Kube
from aurora.config.loader import json_schema, load, load_policy, locate, parse, with_kube_flags
from aurora.config.policy import VerifyPolicy

__all__ = ["CONFIG_NAME", "LOCKFILES", "Bases", "Config", "Frontend", "IstioTraffic", "Kube", "VerifyPolicy", "json_schema", "load",
           "load_policy", "locate", "parse", "with_kube_flags"]
