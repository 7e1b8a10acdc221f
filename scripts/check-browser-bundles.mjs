// The browser builds, as an app's bundler makes them from the built packages (dist, no source
// condition): each of packages/web-tests/bundles/{fetch,axios,ky}.js bundled for the browser
// by esbuild (platform: 'browser') and by Vite (its default browser build). Fails on any
// error or warning, or on any `node:` module reached; prints the sizes (min+gz). The budgets
// are in .size-limit.mjs. Needs `pnpm build` first.
import { gzipSync } from 'node:zlib';
import { build as esbuild } from 'esbuild';

const root = new URL('../packages/web-tests/', import.meta.url);
const { build: vite } = await import(new URL('node_modules/vite/dist/node/index.js', root).href);
const nodeImport = /\bfrom\s*["']node:|import\(["']node:|require\(["']node:/;
let failed = false;

for (const name of ['fetch', 'axios', 'ky']) {
  const entry = new URL(`bundles/${name}.js`, root).pathname;
  const built = await esbuild({
    entryPoints: [entry],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    minify: true,
    write: false,
    logLevel: 'silent',
  }).catch((error) => ({ errors: error.errors ?? [error], warnings: [], outputFiles: [] }));
  const code = built.outputFiles[0]?.text ?? '';
  const problems = [...built.errors, ...built.warnings].map((m) => m.text ?? String(m));
  if (nodeImport.test(code)) problems.push('reaches a node: module');
  // The web platform (pending redirect logins in sessionStorage) is in, not Node's.
  if (!code.includes('oidc-auth:login:')) problems.push("core's browser entry was not chosen");
  console.log(
    `esbuild ${name}: ${problems.length ? 'FAIL' : 'clean'}, ${(gzipSync(code).length / 1000).toFixed(1)} kB min+gz with its client`,
  );
  for (const p of problems) console.log(`  ${p}`);
  failed ||= problems.length > 0;

  const warnings = [];
  const output = await vite({
    configFile: false,
    logLevel: 'silent',
    root: new URL('bundles/', root).pathname,
    build: {
      write: false,
      lib: { entry, formats: ['es'], fileName: name },
      rollupOptions: { onwarn: (warning) => warnings.push(String(warning.message ?? warning)) },
    },
  }).catch((error) => {
    warnings.push(`build failed: ${error.message}`);
    return [];
  });
  const chunks = (Array.isArray(output) ? output : [output]).flatMap((o) => o?.output ?? []);
  const viteCode = chunks.map((c) => c.code ?? '').join('\n');
  if (nodeImport.test(viteCode)) warnings.push('reaches a node: module');
  if (!viteCode.includes('oidc-auth:login:')) warnings.push("core's browser entry was not chosen");
  if (!viteCode) warnings.push('no output');
  console.log(`vite ${name}: ${warnings.length ? 'FAIL' : 'clean'} (${chunks.length} chunks)`);
  for (const w of warnings) console.log(`  ${w}`);
  failed ||= warnings.length > 0;
}
if (failed) process.exit(1);
