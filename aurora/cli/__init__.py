"""The `aurora` command: thin commands that parse, call one pipeline function, and print.

The commands in the order `aurora --help` lists them; each lives in the module of its room.
"""

from aurora.cli import base, build, check, deploy, supply
from aurora.cli.app import app, base_app, ci_app, key_app, main

app.command()(build.schema)
app.command()(build.init)
app.command()(build.render)
app.command()(build.build)
app.command("push")(build.push_cmd)
app.command()(check.verify)
app.command()(supply.sbom)
app.command("policy")(supply.policy_cmd)
app.command()(deploy.kube)
app.command()(deploy.deploy)
app.command()(deploy.undeploy)
app.command()(check.smoke)
app.command()(check.doctor)
ci_app.command("github")(deploy.ci_github)
base_app.command("build")(base.base_build)
base_app.command("save")(base.base_save)
base_app.command("load")(base.base_load)
base_app.command("list")(base.base_list)
key_app.command("generate")(supply.key_generate)
key_app.command("public")(supply.key_public)

__all__ = ["app", "main"]
