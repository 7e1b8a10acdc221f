// The packages that are published (not `private`), by folder name, one per line.
import { readdirSync, readFileSync } from 'node:fs';

const root = new URL('../packages/', import.meta.url);
for (const name of readdirSync(root).sort()) {
  try {
    const manifest = JSON.parse(readFileSync(new URL(`${name}/package.json`, root), 'utf8'));
    if (!manifest.private) console.log(name);
  } catch {
    // not a package
  }
}
