import { build } from "esbuild";
import { copyFileSync, mkdirSync, rmSync } from "node:fs";

rmSync("build", { recursive: true, force: true });
mkdirSync("build/static/js", { recursive: true });
await build({
  entryPoints: ["src/index.jsx"],
  bundle: true,
  minify: true,
  outfile: "build/static/js/main.js",
  define: { "process.env.NODE_ENV": '"production"' },
});
copyFileSync("public/index.html", "build/index.html");
