// The front end's build: like create-react-app's config/env.js, it takes the app's variables
// from process.env in its own order and bakes them into the page as one object.
const fs = require("fs");
const path = require("path");

const baked = Object.keys(process.env)
  .filter((key) => /^(Z_|CSS_)/.test(key))
  .reduce((env, key) => ({ ...env, [key]: process.env[key] }), {});
const out = path.join(__dirname, "build");
fs.mkdirSync(out, { recursive: true });
fs.writeFileSync(path.join(out, "index.html"), "<!doctype html><html><head><title>Env order</title>"
  + `<script>window.env=${JSON.stringify(baked)}</script></head><body>env-order</body></html>\n`);
fs.writeFileSync(path.join(out, "env.json"), JSON.stringify(Object.keys(baked)) + "\n");
console.log("built build/index.html");
