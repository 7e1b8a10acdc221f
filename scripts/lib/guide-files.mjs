// node scripts/lib/guide-files.mjs GUIDE LANGS EXPECTED — writes, into the current folder, the
// files whose fenced code blocks in GUIDE (a Markdown page) of a language in LANGS (`html|ts`)
// start with their path (`// src/main.ts`, `<!-- index.html -->`), exactly as the page shows
// them; fails unless the files written are EXPECTED (space-separated, any order). The first-run
// scripts use it to run a guide's code as written.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

const [guide, langs, expected] = process.argv.slice(2);
if (!guide || !langs || !expected) {
  console.error('usage: node scripts/lib/guide-files.mjs GUIDE LANGS EXPECTED');
  process.exit(2);
}
const text = readFileSync(guide, 'utf8');
const written = [];
for (const [, body] of text.matchAll(new RegExp(`\`\`\`(?:${langs})\\n([\\s\\S]*?)\`\`\``, 'g'))) {
  const path = /^(?:<!-- ([\w./-]+\.\w+) -->|\/\/ ([\w./-]+\.\w+))\n/.exec(body);
  const file = path?.[1] ?? path?.[2];
  if (!file) continue;
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, body);
  written.push(file);
}
if (written.sort().join(' ') !== expected.split(' ').sort().join(' ')) {
  console.error(`the guide's files: ${written.join(', ')} (expected ${expected})`);
  process.exit(1);
}
console.log(`== the guide's files: ${written.join(', ')}`);
