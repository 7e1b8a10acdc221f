// pnpm check:publish (after pnpm build): what `pnpm publish` would put in each package's tarball,
// checked before anyone publishes — no tests or fixtures, every `exports`, `main`, `types` and
// `bin` target present, and every source map's sources inside the tarball (a map pointing
// outside it points at files the user does not have). Then `pnpm publish -r --dry-run`.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const names = execFileSync('node', [join(root, 'scripts/publishable.mjs')], { encoding: 'utf8' })
  .trim()
  .split('\n');
const problems = [];

/** Every file path an `exports` value names (conditions and subpaths walked). */
function targets(value, out = []) {
  if (typeof value === 'string') out.push(value);
  else if (value && typeof value === 'object')
    for (const v of Object.values(value)) targets(v, out);
  return out;
}

for (const name of names) {
  const dir = join(root, 'packages', name);
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const listed = JSON.parse(
    execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: dir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }),
  )[0].files.map((f) => normalize(f.path));
  const files = new Set(listed);
  const say = (what) => problems.push(`${manifest.name}: ${what}`);
  for (const file of listed) {
    if (/(^|\/)(test|tests|__tests__|fixtures)\//.test(file) || /\.test\.[cm]?[jt]s$/.test(file)) {
      say(`ships a test file: ${file}`);
    }
  }
  const wanted = [
    ...targets(manifest.exports),
    manifest.main,
    manifest.types,
    ...(typeof manifest.bin === 'string' ? [manifest.bin] : Object.values(manifest.bin ?? {})),
  ].filter((t) => typeof t === 'string' && !t.includes('*'));
  for (const target of wanted) {
    if (target === './package.json') continue;
    if (!files.has(normalize(target))) say(`names ${target}, which is not in the tarball`);
  }
  for (const file of listed.filter((f) => f.endsWith('.map'))) {
    const map = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    for (const source of map.sources ?? []) {
      const inside = normalize(join(dirname(file), map.sourceRoot ?? '', source));
      if (inside.startsWith('..') || !files.has(inside)) {
        say(`${file} points at ${source}, which is not in the tarball`);
      }
    }
  }
  console.log(`${manifest.name}: ${listed.length} files, exports present, no tests, maps inside`);
}
if (problems.length > 0) {
  console.error(problems.join('\n'));
  process.exit(1);
}
