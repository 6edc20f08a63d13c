// The front end's build: renders the page with React (server-side) into build/index.html,
// and, like create-react-app under CI=true, treats its warnings as errors unless CI=false.
const fs = require("fs");
const path = require("path");
const v8 = require("v8");
const React = require("react");
const { renderToStaticMarkup } = require("react-dom/server");

if (process.env.CI !== "false") {
  console.error("Treating warnings as errors because process.env.CI is not false: build failed");
  process.exit(1);
}
const page = renderToStaticMarkup(React.createElement("main", { id: "app" }, `peer-conflict on React ${React.version}`));
const out = path.join(__dirname, "build");
fs.mkdirSync(out, { recursive: true });
fs.writeFileSync(path.join(out, "index.html"), `<!doctype html><html><head><title>Peer conflict</title></head><body>${page}</body></html>\n`);
fs.writeFileSync(path.join(out, "build-env.json"), JSON.stringify({
  CI: process.env.CI,
  NODE_OPTIONS: process.env.NODE_OPTIONS || null,
  heapLimitMiB: Math.round(v8.getHeapStatistics().heap_size_limit / 1048576),
  node: process.versions.node,
}) + "\n");
console.log("built build/index.html");
