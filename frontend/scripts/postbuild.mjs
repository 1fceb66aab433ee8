// After `vite build`: vendor the Swagger UI docs page and write deterministic
// .gz / .br copies of every compressible file of at least 1 KiB.
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');
const dist = resolve(root, '../frontend-dist');
const require = createRequire(import.meta.url);

// ---- docs ----
const swaggerDir = dirname(require.resolve('swagger-ui-dist/package.json'));
const docs = join(dist, 'docs');
mkdirSync(docs, { recursive: true });

// Drop the trailing source-map reference: the .map files are not shipped, and a
// browser with devtools open would otherwise request a missing file.
function stripSourceMap(text) {
  return text.replace(/\n?\/\/# sourceMappingURL=[^\n]*\s*$/, '\n').replace(/\n?\/\*# sourceMappingURL=[^*]*\*\/\s*$/, '\n');
}
for (const name of ['swagger-ui.css', 'swagger-ui-bundle.js']) {
  const text = readFileSync(join(swaggerDir, name), 'utf8');
  writeFileSync(join(docs, name), stripSourceMap(text));
}
for (const name of ['LICENSE', 'NOTICE', 'swagger-ui-bundle.js.LICENSE.txt']) {
  copyFileSync(join(swaggerDir, name), join(docs, name === 'LICENSE' ? 'LICENSE.swagger-ui.txt' : name === 'NOTICE' ? 'NOTICE.swagger-ui.txt' : name));
}
for (const name of ['index.html', 'init.js', 'docs.css']) {
  copyFileSync(join(root, 'docs-src', name), join(docs, name));
}

// ---- precompression ----
const COMPRESSIBLE = new Set(['.js', '.css', '.svg', '.html', '.json']);
const MIN = 1024;

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else out.push(p);
  }
  return out;
}

let count = 0;
for (const file of walk(dist)) {
  if (!COMPRESSIBLE.has(extname(file))) continue;
  const buf = readFileSync(file);
  if (buf.length < MIN) continue;
  // Node's gzip header carries no file name and mtime 0, so output depends on the bytes only.
  writeFileSync(`${file}.gz`, gzipSync(buf, { level: 9 }));
  writeFileSync(
    `${file}.br`,
    brotliCompressSync(buf, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
        [constants.BROTLI_PARAM_MODE]: extname(file) === '.woff2' ? constants.BROTLI_MODE_FONT : constants.BROTLI_MODE_TEXT,
        [constants.BROTLI_PARAM_SIZE_HINT]: buf.length,
      },
    }),
  );
  count++;
}
console.log(`postbuild: docs vendored, ${count} files precompressed (.gz, .br)`);
