"""One app for one command: its aurora.toml, its git facts and the plan made from them. A
command makes its ``Project`` once and hands it (or its plan) down; nothing below plans again."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from aurora import config as config_mod
from aurora.config import Config
from aurora.host import git as gitinfo
from aurora.host.git import GitFacts
from aurora.pipeline.plan import Plan, make_plan


@dataclass(frozen=True)
class Project:
    app_dir: Path
    config: Config
    git: GitFacts
    plan: Plan

    @classmethod
    def load(cls, app_dir: Path, *, tags: Sequence[str] = (), bases: str | None = None, secrets: tuple[str, ...] = (),
             platforms: Sequence[str] = (), namespace: str | None = None, replicas: int | None = None,
             prepare: Callable[[Config], None] | None = None) -> Project:
        """Read aurora.toml (with the command's --namespace/--replicas) and git, and make the plan;
        ``tags``, ``bases``, ``secrets`` and ``platforms`` are the command line's. ``prepare`` runs
        between the config and the plan (``aurora build``'s host build, which makes the dist)."""
        cfg = config_mod.with_kube_flags(config_mod.load(app_dir), namespace=namespace, replicas=replicas)
        if prepare is not None:
            prepare(cfg)
        git = gitinfo.read(app_dir)
        plan = make_plan(cfg, app_dir, git, tags=list(tags), bases=bases, secrets=secrets, platforms=list(platforms))
        return cls(app_dir, cfg, git, plan)
