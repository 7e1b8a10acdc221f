// pnpm check:structure — what the design promises about the sources, checked:
// 1. No module-level mutable state in the published packages' src that is not on the
//    allow-list (scripts/module-state-allow.json, with the reason it is harmless): anything
//    shared across a process is shared across identities. Constants typed read-only
//    (`as const`, `readonly T[]`, `ReadonlyArray`, `ReadonlySet`, `ReadonlyMap`) are not state.
// 2. No source file in core over 450 lines (doc comments included).
// 3. No function over 80 lines in the library packages (the test kits — contract, web-tests,
//    test-support, store-conformance, mock-server, demo — define suites and fixtures in long
//    functions).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

const root = new URL('..', import.meta.url).pathname;
const allowList = JSON.parse(
  readFileSync(join(root, 'scripts/module-state-allow.json'), 'utf8'),
) as Record<string, string>;
const maxCoreLines = 450;
const maxFunctionLines = 80;
/** Private packages (tests, the demo): their module state never ships. */
const unpublished = new Set(['contract', 'test-support', 'web-tests', 'demo']);
const library = new Set(['core', 'fetch', 'axios', 'ky', 'got', 'cli', 'redis', 'otel']);
const readonlyType = /^(readonly |Readonly(Array|Set|Map)<)/;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return /\.tsx?$/.test(name) && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Constructors whose instances hold no state a caller can change (encoders, frozen tables). */
const stateless = new Set(['TextEncoder', 'TextDecoder']);

/** Why a top-level declaration is mutable state, or undefined when it is not. */
function mutable(
  list: ts.VariableDeclarationList,
  declaration: ts.VariableDeclaration,
): string | undefined {
  if (!(list.flags & ts.NodeFlags.Const)) return 'a module-level let/var';
  const init = declaration.initializer;
  if (!init || (declaration.type && readonlyType.test(declaration.type.getText()))) {
    return undefined;
  }
  let expr = init;
  while (
    ts.isAsExpression(expr) ||
    ts.isSatisfiesExpression(expr) ||
    ts.isParenthesizedExpression(expr)
  ) {
    if (ts.isAsExpression(expr) && expr.type.getText() === 'const') return undefined;
    expr = expr.expression;
  }
  if (ts.isNewExpression(expr)) {
    const name = expr.expression.getText();
    return stateless.has(name) ? undefined : `a module-level new ${name}()`;
  }
  if (ts.isArrayLiteralExpression(expr)) return 'a module-level array';
  return undefined;
}

const problems: string[] = [];
const found = new Set<string>();
for (const pkg of readdirSync(join(root, 'packages'))) {
  const src = join(root, 'packages', pkg, 'src');
  if (!statSync(join(root, 'packages', pkg)).isDirectory()) continue;
  let files: string[];
  try {
    files = sources(src);
  } catch {
    continue;
  }
  for (const file of files) {
    const rel = relative(root, file);
    const text = readFileSync(file, 'utf8');
    const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
    if (pkg === 'core' && lines > maxCoreLines) {
      problems.push(`${rel}: ${lines} lines (core files stay within ${maxCoreLines})`);
    }
    const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
    for (const statement of unpublished.has(pkg) ? [] : source.statements) {
      if (!ts.isVariableStatement(statement)) continue;
      for (const declaration of statement.declarationList.declarations) {
        const why = mutable(statement.declarationList, declaration);
        if (!why) continue;
        const key = `${rel}:${declaration.name.getText()}`;
        found.add(key);
        if (!allowList[key])
          problems.push(`${key}: ${why} (shared by every identity in the process)`);
      }
    }
    const visit = (node: ts.Node) => {
      if (library.has(pkg) && ts.isFunctionLike(node) && 'body' in node && node.body) {
        const start = source.getLineAndCharacterOfPosition(node.getStart()).line;
        const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
        if (end - start + 1 > maxFunctionLines) {
          const name = (node as ts.FunctionLikeDeclaration).name?.getText() ?? '(anonymous)';
          problems.push(
            `${rel}:${start + 1} ${name}: ${end - start + 1} lines (functions stay within ${maxFunctionLines})`,
          );
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
}
for (const key of Object.keys(allowList)) {
  if (!found.has(key))
    problems.push(`${key}: on scripts/module-state-allow.json but gone; take it off`);
}
if (problems.length > 0) {
  process.stderr.write(`check:structure found ${problems.length}:\n  ${problems.join('\n  ')}\n`);
  process.exit(1);
}
process.stdout.write(
  `check:structure: ${found.size} module-level state entries, each allowed with a reason; core files ≤ ${maxCoreLines} lines; functions ≤ ${maxFunctionLines} lines\n`,
);
