'use strict';
/*
 * Production build of the zero-demo front end (the Zero/vertx-ui `node scripts/build.js` step).
 *
 *  - Z_* variables are baked in at build time. Sources, lowest priority first:
 *    built-in defaults < .env < .env.local < .env.production < .env.production.local < environment.
 *  - Output: $BUILD_PATH (default build/): index.html + static/js/*.js + static/css/*.css.
 *  - PUBLIC_URL (default "") prefixes the asset URLs; they are absolute so that deep
 *    BrowserRouter paths such as /zo/login/index load the same files.
 *  - CI=true turns build warnings into errors.
 */
const fs = require('fs');
const path = require('path');
const esbuild = require('esbuild');

const root = path.resolve(__dirname, '..');
const DEFAULTS = { Z_ENDPOINT: '', Z_ROUTE: 'zo', Z_APP: 'zero-demo' };

/** Tiny .env parser: KEY=VALUE lines, # comments, optional `export `, optional quotes. */
function parseEnvFile(file) {
  const vars = {};
  if (!fs.existsSync(file)) return vars;
  const lines = fs.readFileSync(file, 'utf8').split(/\r?\n/);
  for (const raw of lines) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    let value = m[2].trim();
    const quoted = /^(["'])(.*?)\1\s*(?:#.*)?$/.exec(value);
    if (quoted) {
      value = quoted[2];
      if (quoted[1] === '"') value = value.replace(/\\n/g, '\n');
    } else {
      value = value.replace(/(^|\s+)#.*$/, '').trim();
    }
    vars[m[1]] = value;
  }
  return vars;
}

function loadEnv() {
  const env = { ...DEFAULTS };
  const files = ['.env', '.env.local', '.env.production', '.env.production.local'];
  const used = [];
  for (const name of files) {
    const file = path.join(root, name);
    if (fs.existsSync(file)) {
      Object.assign(env, parseEnvFile(file));
      used.push(name);
    }
  }
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith('Z_') || key === 'PUBLIC_URL') env[key] = value;
  }
  return { env, used };
}

function zDefines(env) {
  const define = { 'process.env.NODE_ENV': JSON.stringify('production') };
  for (const [key, value] of Object.entries(env)) {
    if (key.startsWith('Z_')) define[`process.env.${key}`] = JSON.stringify(String(value));
  }
  return define;
}

function escapeAttr(s) {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}

async function main() {
  const { env, used } = loadEnv();
  const buildDir = path.resolve(root, process.env.BUILD_PATH || 'build');
  const publicUrl = String(env.PUBLIC_URL || '').replace(/\/+$/, '');
  const strict = ['true', '1'].includes(String(process.env.CI || '').toLowerCase());

  if (buildDir === root || root.startsWith(buildDir + path.sep)) {
    throw new Error(`BUILD_PATH must not be the project folder or above it: ${buildDir}`);
  }
  fs.rmSync(buildDir, { recursive: true, force: true });
  fs.mkdirSync(buildDir, { recursive: true });

  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: { main: 'src/index.jsx' },
    bundle: true,
    minify: true,
    sourcemap: false,
    legalComments: 'none',
    format: 'iife',
    platform: 'browser',
    target: ['es2020', 'chrome87', 'firefox78', 'safari14', 'edge88'],
    jsx: 'automatic',
    loader: { '.js': 'jsx' },
    define: zDefines(env),
    outdir: buildDir,
    entryNames: 'static/[ext]/[name].[hash]',
    assetNames: 'static/media/[name].[hash]',
    publicPath: `${publicUrl}/`,
    metafile: true,
    logLevel: 'warning', // esbuild prints warnings and errors itself
  });

  if (result.warnings.length && strict) {
    throw new Error(`${result.warnings.length} warning(s) treated as errors because CI=true`);
  }

  const outputs = Object.keys(result.metafile.outputs).map((p) =>
    path.relative(buildDir, path.resolve(root, p)).split(path.sep).join('/'));
  const js = outputs.filter((p) => p.endsWith('.js'));
  const css = outputs.filter((p) => p.endsWith('.css'));

  const template = fs.readFileSync(path.join(root, 'public', 'index.html'), 'utf8');
  const html = template
    .replace('<!-- zero-demo:css -->',
      css.map((f) => `<link rel="stylesheet" href="${escapeAttr(`${publicUrl}/${f}`)}" />`).join('\n    '))
    .replace('<!-- zero-demo:js -->',
      js.map((f) => `<script defer src="${escapeAttr(`${publicUrl}/${f}`)}"></script>`).join('\n    '));
  fs.writeFileSync(path.join(buildDir, 'index.html'), html);

  // Other files of public/ are copied as they are.
  for (const entry of fs.readdirSync(path.join(root, 'public'))) {
    if (entry === 'index.html') continue;
    fs.cpSync(path.join(root, 'public', entry), path.join(buildDir, entry), { recursive: true });
  }

  const shown = Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('Z_')));
  console.log(`env files: ${used.length ? used.join(', ') : '(none)'}`);
  console.log(`baked in: ${JSON.stringify(shown)}`);
  for (const f of ['index.html', ...outputs].sort()) {
    const size = fs.statSync(path.join(buildDir, f)).size;
    const rel = path.relative(process.cwd(), path.join(buildDir, f));
    console.log(`  ${String(size).padStart(8)}  ${rel.startsWith('..') ? path.join(buildDir, f) : rel}`);
  }
  console.log(`build ready in ${buildDir}`);
}

main().catch((err) => {
  console.error(`build failed: ${err && err.message ? err.message : err}`);
  process.exit(1);
});
