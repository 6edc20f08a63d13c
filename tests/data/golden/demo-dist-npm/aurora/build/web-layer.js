'use strict';
/*
 * aurora: makes the web layer from the front end's files (run in the web stage, with the
 * build stage's Node; no package needed).
 *
 *   node web-layer.js OUT OPTIONS_JSON
 *
 * OUT/web holds the files. This script, in place:
 *  - leaves out what matches an exclude pattern (source maps and OS litter by default) and
 *    says what that was and how much it saved;
 *  - writes FILE.gz next to each compressible FILE (when smaller), reproducibly: gzip with no
 *    name and time in the header, so nginx's gzip_static sends it and compresses nothing; with
 *    "brotli", FILE.br too (brotli at quality 11 is deterministic), for brotli_static;
 *  - writes OUT/aurora/web/files.conf for nginx: "immutable" for a content-hashed file under the
 *    asset folder, else a hash of the file's content (its ETag: layer files all have the same
 *    time, so nginx's own "mtime-size" ETag would not change with the content);
 *  - writes OUT/aurora/web/script-hashes.conf: the CSP hashes of inline scripts in the HTML
 *    (the value of $aurora_script_hashes, with a leading space: it follows 'self').
 * Lines starting with "aurora-web:" are shown by `aurora build`.
 */
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');

const COMPRESSIBLE = new Set(['html', 'htm', 'css', 'js', 'mjs', 'cjs', 'json', 'map', 'svg', 'txt',
  'xml', 'webmanifest', 'ico', 'wasm', 'ttf', 'otf', 'eot', 'md', 'csv', 'yml', 'yaml']);
// nginx map keys: a path of these characters needs no quoting rules beyond the quotes; longer
// keys would need a larger map_hash_bucket_size than the config sets.
const SAFE_KEY = /^\/[A-Za-z0-9._~@+,=:/ -]*$/;
const MAX_KEY = 200;
const JS_TYPES = new Set(['', 'text/javascript', 'application/javascript', 'module', 'text/ecmascript',
  'application/ecmascript']);

function say(line) {
  console.log(`aurora-web: ${line}`);
}

function size(n) {
  if (n < 1000) return `${n} B`;
  if (n < 1e6) return `${(n / 1e3).toFixed(1)} kB`;
  return `${(n / 1e6).toFixed(1)} MB`;
}

function plural(n, word) {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** A glob as a RegExp: '*' within a folder, '**' across folders, '?', '[...]' ('!' negates). */
function globToRegExp(glob) {
  let re = '';
  for (let i = 0; i < glob.length; i += 1) {
    const c = glob[i];
    if (c === '*' && glob[i + 1] === '*') {
      i += 1;
      if (glob[i + 1] === '/') {
        i += 1;
        re += '(?:.*/)?';
      } else {
        re += '.*';
      }
    } else if (c === '*') {
      re += '[^/]*';
    } else if (c === '?') {
      re += '[^/]';
    } else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) {
        re += '\\[';
      } else {
        let body = glob.slice(i + 1, end);
        if (body.startsWith('!')) body = `^${body.slice(1)}`;
        re += `[${body.replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else {
      re += c.replace(/[.+^${}()|\\/-]/g, '\\$&');
    }
  }
  return new RegExp(`^${re}$`);
}

/** Whether ``rel`` (a path from the web root) matches ``pattern``: one without '/' is matched
 * against the file name at any depth, one with '/' against the whole path. */
function matcher(pattern) {
  const re = globToRegExp(pattern);
  return pattern.includes('/') ? (rel) => re.test(rel) : (rel) => re.test(rel.split('/').pop());
}

/** A bundler's content hash in the file name: main.1a2b3c4d.js (webpack), main.NPTHJO67.js
 * (esbuild), index-BQk3Tz1C.js (Vite), logo.6ce24c58023cc2f8fd88.svg. A token between the name
 * and the extension of 8+ characters with a digit, or all base32 capitals. Misses only cost a
 * revalidation; a false hit would cache a changing file for a year, hence the strict rule. */
function looksHashed(name) {
  const tokens = name.split(/[.-]/);
  return tokens.slice(1, -1).some((t) => t.length >= 8 && /^[A-Za-z0-9_]+$/.test(t)
    && (/[0-9]/.test(t) || /^[A-Z2-7]+$/.test(t)));
}

/** Brotli at its best quality, told the input's size and kind: the same bytes for the same
 * input and Node version (no time or name in the format). */
function brotli(data) {
  const { constants } = zlib;
  return zlib.brotliCompressSync(data, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
      [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
      [constants.BROTLI_PARAM_SIZE_HINT]: data.length,
    },
  });
}

function walk(dir, rel, out) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const r = rel ? `${rel}/${entry.name}` : entry.name;
    if (entry.isDirectory()) walk(path.join(dir, entry.name), r, out);
    else if (entry.isFile()) out.push(r);
  }
  return out;
}

function inlineScripts(html) {
  const found = [];
  const re = /<script\b([^>]*)>([\s\S]*?)<\/script\s*>/gi;
  let m;
  while ((m = re.exec(html)) !== null) {
    const attrs = m[1];
    if (/\bsrc\s*=/i.test(attrs) || !m[2]) continue;
    const type = /\btype\s*=\s*["']?([^"'\s>]*)/i.exec(attrs);
    if (!JS_TYPES.has(type ? type[1].toLowerCase() : '')) continue;
    found.push(`'sha256-${crypto.createHash('sha256').update(m[2], 'utf8').digest('base64')}'`);
  }
  return found;
}

function main() {
  const [out, optionsJson] = process.argv.slice(2);
  if (!out || !optionsJson) throw new Error('usage: web-layer.js OUT OPTIONS_JSON');
  const options = JSON.parse(optionsJson);
  const web = path.join(out, 'web');
  const meta = path.join(out, 'aurora', 'web');
  const assets = `${options.assets.replace(/^\/+|\/+$/g, '')}/`;
  fs.mkdirSync(meta, { recursive: true });

  // 1. Leave out what the exclude patterns name.
  const patterns = options.exclude.map((p) => ({ pattern: p, test: matcher(p), files: [], bytes: 0 }));
  const kept = [];
  for (const rel of walk(web, '', [])) {
    const hit = patterns.find((p) => p.test(rel));
    if (!hit) {
      kept.push(rel);
      continue;
    }
    const bytes = fs.statSync(path.join(web, rel)).size;
    hit.files.push([rel, bytes]);
    hit.bytes += bytes;
    fs.unlinkSync(path.join(web, rel));
  }
  const dropped = patterns.filter((p) => p.files.length);
  if (dropped.length) {
    const count = dropped.reduce((n, p) => n + p.files.length, 0);
    const bytes = dropped.reduce((n, p) => n + p.bytes, 0);
    say(`left out ${plural(count, 'file')}, ${size(bytes)}: `
      + dropped.map((p) => `${p.pattern} ${plural(p.files.length, 'file')} ${size(p.bytes)}`).join(', '));
    const all = dropped.flatMap((p) => p.files).sort((a, b) => b[1] - a[1]);
    for (const [rel, n] of all.slice(0, 10)) say(`  ${rel} (${size(n)})`);
    if (all.length > 10) say(`  ... and ${all.length - 10} more`);
  } else {
    say('left out nothing (no file matches the exclude patterns)');
  }
  if (!kept.includes('index.html')) {
    console.error(`aurora-web: error: the front end's output has no index.html at its top (files: ${kept.slice(0, 5).join(', ') || 'none'}):`
      + ' check frontend.output (the build\'s output folder) and frontend.exclude');
    process.exit(1);
  }

  // 2. Precompress; 3. what nginx needs to know about each file.
  const originals = new Set(kept);
  const entries = new Map();
  const lower = new Map();
  const skipped = [];
  let raw = 0;
  let files = 0;
  let compressedFrom = 0;
  let compressedTo = 0;
  let gz = 0;
  let brs = 0;
  let brFrom = 0;
  let brTo = 0;
  let immutable = 0;
  let tagged = 0;
  const hashes = new Set();
  for (const rel of kept) {
    // A FILE.gz or FILE.br beside FILE is remade from FILE (a stale one would serve old content).
    if ((rel.endsWith('.gz') || rel.endsWith('.br')) && originals.has(rel.slice(0, -3))) continue;
    const file = path.join(web, rel);
    const data = fs.readFileSync(file);
    raw += data.length;
    files += 1;
    const ext = rel.includes('.') ? rel.split('.').pop().toLowerCase() : '';
    if (COMPRESSIBLE.has(ext) && data.length > 0) {
      const packed = zlib.gzipSync(data, { level: 9 });
      if (packed.length < data.length) {
        fs.writeFileSync(`${file}.gz`, packed);
        gz += 1;
        compressedFrom += data.length;
        compressedTo += packed.length;
      } else if (originals.has(`${rel}.gz`)) {
        fs.unlinkSync(`${file}.gz`);
      }
      const br = options.brotli ? brotli(data) : null;
      if (br && br.length < data.length) {
        fs.writeFileSync(`${file}.br`, br);
        brs += 1;
        brFrom += data.length;
        brTo += br.length;
      } else if (originals.has(`${rel}.br`)) {
        fs.unlinkSync(`${file}.br`);
      }
    } else {
      // Not compressed here: a FILE.gz or FILE.br that came with it would be sent instead.
      for (const stale of [`${rel}.gz`, `${rel}.br`]) if (originals.has(stale)) fs.unlinkSync(path.join(web, stale));
    }
    if (ext === 'html' || ext === 'htm') inlineScripts(data.toString('utf8')).forEach((h) => hashes.add(h));
    const key = `/${rel}`;
    if (!SAFE_KEY.test(key) || key.length > MAX_KEY) {
      skipped.push(rel);
      continue;
    }
    const value = rel.startsWith(assets) && looksHashed(rel.split('/').pop())
      ? 'immutable'
      : crypto.createHash('sha256').update(data).digest('hex').slice(0, 32);
    // nginx matches map keys without regard to case: two names that differ only in case
    // would be one key, and nginx refuses a duplicate. Neither gets an entry (no-cache).
    const low = key.toLowerCase();
    if (lower.has(low)) {
      if (entries.delete(lower.get(low))) skipped.push(lower.get(low).slice(1));
      skipped.push(rel);
      continue;
    }
    lower.set(low, key);
    entries.set(key, value);
  }
  const lines = [...entries.keys()].sort().map((key) => `"${key}" ${entries.get(key)};\n`);
  for (const key of entries.keys()) {
    if (entries.get(key) === 'immutable') immutable += 1;
    else tagged += 1;
  }
  fs.writeFileSync(path.join(meta, 'files.conf'), lines.join(''));

  const scripts = [...hashes].sort();
  fs.writeFileSync(path.join(meta, 'script-hashes.conf'), scripts.length ? `default " ${scripts.join(' ')}";\n` : '');

  say(`${plural(files, 'file')}, ${size(raw)}; ${gz} precompressed with gzip: ${size(compressedFrom)} -> ${size(compressedTo)}`
    + (options.brotli ? `, ${brs} with brotli: ${size(brFrom)} -> ${size(brTo)}` : ''));
  say(`caching: ${immutable} content-hashed under /${assets} immutable for a year,`
    + ` ${tagged} other${tagged === 1 ? '' : 's'} no-cache with an ETag from the content`
    + (skipped.length ? `, ${skipped.length} no-cache without one (odd characters, or names that differ only in case: ${skipped.slice(0, 3).join(', ')})` : ''));
  if (scripts.length) {
    say(options.script_hashes
      ? `${plural(scripts.length, 'inline script')} in the HTML: allowed by hash in the Content-Security-Policy`
      : `warning: ${plural(scripts.length, 'inline script')} in the HTML, and [web] headers sets its own Content-Security-Policy:`
        + ` add ${scripts.join(' ')} to its script-src, or the browser will not run them`);
  }
}

try {
  main();
} catch (err) {
  console.error(`aurora-web: error: ${err && err.message ? err.message : err}`);
  process.exit(1);
}
