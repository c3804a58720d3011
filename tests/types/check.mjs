// Type-checks the packed package's declarations and every JavaScript and
// TypeScript block of README.md and pkg-template/README.md with
// `tsc --strict` and skipLibCheck off, with TypeScript 5 and the latest,
// each under two settings: lib ["es2022", "dom"] (a browser app) and
// lib ["es2022"] with @types/node (a Node-only project, no DOM types).
//
//   node tests/types/check.mjs     (after `make build`; tests/types/setup.sh installs tsc)
//
// contract.ts holds what the declarations must accept and refuse
// (@ts-expect-error lines). Each block becomes a module of its own after prelude.d.ts, which declares
// what the README's examples take from their surroundings (env, body, ...).
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const scratch = path.join(here, '.tmp');
const tarball = path.join(root, 'target/npm/grantkit.tgz');
if (!fs.existsSync(tarball)) {
  console.error(`tests/types/check.mjs: ${tarball} is missing; run make build`);
  process.exit(1);
}

fs.rmSync(scratch, { recursive: true, force: true });
fs.mkdirSync(path.join(scratch, 'blocks'), { recursive: true });
fs.writeFileSync(path.join(scratch, 'package.json'), '{ "name": "types-scratch", "private": true, "type": "module" }\n');
execFileSync('npm', ['install', '--prefix', scratch, '--no-save', '--no-audit', '--no-fund', '--no-package-lock', tarball], { stdio: ['ignore', 'ignore', 'inherit'] });
// @types/node from this folder's own install, for the Node setting.
fs.cpSync(path.join(here, 'node_modules/@types'), path.join(scratch, 'node_modules/@types'), { recursive: true });

const blocks = [];
for (const readme of ['README.md', 'pkg-template/README.md']) {
  const text = fs.readFileSync(path.join(root, readme), 'utf8');
  const fence = /^```(js|javascript|ts|typescript)\n([\s\S]*?)^```/gm;
  let match;
  while ((match = fence.exec(text))) {
    const line = text.slice(0, match.index).split('\n').length;
    const name = `${readme.replace(/[/.]/g, '_')}_L${line}.ts`;
    blocks.push({ readme, line, name });
    fs.writeFileSync(path.join(scratch, 'blocks', name), `${match[2]}\nexport {};\n`);
  }
}
fs.copyFileSync(path.join(here, 'prelude.d.ts'), path.join(scratch, 'prelude.d.ts'));
for (const file of ['node-stubs.d.ts', 'node-env.d.ts', 'contract.ts']) fs.copyFileSync(path.join(here, file), path.join(scratch, file));

const settings = {
  dom: { lib: ['es2022', 'dom'], types: [], extra: ['node-stubs.d.ts'] },
  node: { lib: ['es2022'], types: ['node'], extra: ['node-env.d.ts'] },
};
const compilers = {
  'typescript 5': path.join(here, 'node_modules/typescript5/bin/tsc'),
  'typescript latest': path.join(here, 'node_modules/typescript/bin/tsc'),
};

let passed = 0;
let failed = 0;
const rows = [];
for (const [compiler, tsc] of Object.entries(compilers)) {
  const version = execFileSync(process.execPath, [tsc, '--version']).toString().trim();
  for (const [setting, { lib, types, extra }] of Object.entries(settings)) {
    const config = path.join(scratch, `tsconfig.${setting}.json`);
    fs.writeFileSync(config, JSON.stringify({
      compilerOptions: {
        strict: true, noEmit: true, skipLibCheck: false, target: 'es2022',
        module: 'nodenext', moduleResolution: 'nodenext', lib, types,
      },
      files: ['prelude.d.ts', ...extra, 'contract.ts', ...blocks.map((b) => `blocks/${b.name}`)],
    }, null, 2));
    const run = spawnSync(process.execPath, [tsc, '-p', config], { cwd: scratch, encoding: 'utf8' });
    const ok = run.status === 0;
    if (ok) passed += 1; else failed += 1;
    rows.push(`${compiler} (${version}), ${setting}: ${ok ? 'pass' : 'FAIL'}`);
    if (!ok) process.stdout.write(run.stdout + run.stderr);
  }
}
console.log(`${blocks.length} README blocks and contract.ts (what the declarations accept and refuse), the package's declarations included:`);
for (const row of rows) console.log(`  ${row}`);
console.log(`types: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
