// redisStore's declaration accepts the real clients' own types: node-redis 5
// and 4 and ioredis as installed in tests/stores, with tsc --strict (the
// TypeScript of tests/types) under @types/node. Their own .d.ts files are not
// grantkit's to check (skipLibCheck); the package's are checked by
// tests/types/check.mjs.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';

import { here, packageDir, root } from './helpers.mjs';

test('redisStore takes createClient() of node-redis 5 and 4, and new Redis() of ioredis', () => {
  const scratch = path.join(here, '.tmp', 'client-types');
  fs.rmSync(scratch, { recursive: true, force: true });
  fs.mkdirSync(path.join(scratch, 'node_modules/@types'), { recursive: true });
  for (const name of ['redis', 'redis4', 'ioredis', '@redis']) {
    fs.symlinkSync(path.join(here, 'node_modules', name), path.join(scratch, 'node_modules', name));
  }
  fs.symlinkSync(packageDir(), path.join(scratch, 'node_modules/grantkit'));
  fs.symlinkSync(path.join(root, 'tests/types/node_modules/@types/node'), path.join(scratch, 'node_modules/@types/node'));
  fs.writeFileSync(path.join(scratch, 'package.json'), '{ "type": "module" }\n');
  fs.writeFileSync(path.join(scratch, 'clients.ts'), `
import { createClient } from "redis";
import { createClient as createClient4 } from "redis4";
import { Redis } from "ioredis";
import { redisStore } from "grantkit/stores";
import type { TokenStore } from "grantkit/stores";
const stores: TokenStore[] = [redisStore(createClient()), redisStore(createClient4()), redisStore(new Redis())];
void stores;
// @ts-expect-error a client's class, not a client
redisStore(Redis);
`);
  fs.writeFileSync(path.join(scratch, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      strict: true, noEmit: true, skipLibCheck: true, target: 'es2022',
      module: 'nodenext', moduleResolution: 'nodenext', lib: ['es2022'], types: ['node'], preserveSymlinks: true,
    },
    files: ['clients.ts'],
  }));
  const tsc = path.join(root, 'tests/types/node_modules/typescript5/bin/tsc');
  const run = spawnSync(process.execPath, [tsc, '-p', scratch], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stdout + run.stderr);
});
