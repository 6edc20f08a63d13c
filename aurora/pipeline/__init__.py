"""The build pipeline: plan, bases, render, stage, cache, build, publish, offline bases."""
