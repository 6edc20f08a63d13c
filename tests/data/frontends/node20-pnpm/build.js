// Uses all three dependencies: a workspace package, a patched one and serialize-javascript 7.
const fs = require("fs");
const path = require("path");
const serialize = require("serialize-javascript");
const isNumber = require("is-number");
const greet = require("greet");

const state = serialize({ when: new Date(0), pattern: /zero/g, patched: isNumber.patched === true });
const out = path.join(__dirname, "build");
fs.mkdirSync(out, { recursive: true });
fs.writeFileSync(path.join(out, "index.html"),
  `<!doctype html><html><head><title>Node 20</title></head><body><p>${greet("node " + process.versions.node)}</p>`
  + `<script>window.__STATE__=${state}</script></body></html>\n`);
console.log("built build/index.html");
