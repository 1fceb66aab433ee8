// Parses every stylesheet with PostCSS before the build: an unclosed block
// (for example left behind by a merge) fails here with its line instead of
// silently swallowing the rules after it in the browser.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import postcss from 'postcss';

const root = new URL('../src/', import.meta.url).pathname;
const sheets = readdirSync(root, { recursive: true }).filter((f) => f.endsWith('.css'));
let failed = false;
for (const file of sheets) {
  const path = join(root, file);
  try {
    postcss.parse(readFileSync(path, 'utf8'), { from: path });
  } catch (e) {
    failed = true;
    console.error(`${path}: ${e.reason ?? e.message} (line ${e.line}, column ${e.column})`);
  }
}
if (failed) process.exit(1);
console.log(`check-css: ${sheets.length} stylesheet(s) parse`);
