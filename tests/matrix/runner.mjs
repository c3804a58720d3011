// The scenario's command-line runner for Node, Deno and Bun. The harness
// copies it, with scenario.mjs, next to the scratch install of the packed
// package, so `grantkit` resolves through the installed package.json
// "exports" as any user's import would. Prints one JSON line:
// {runtime, entry (what "grantkit" resolved to), results}.
//
//   node|bun runner.mjs RUNTIME CONTROL_URL
//   deno run --allow-net=127.0.0.1 --allow-read=SCRATCH runner.mjs RUNTIME CONTROL_URL
import * as gk from 'grantkit';
import { runScenario } from './scenario.mjs';

const args = globalThis.Deno ? globalThis.Deno.args : globalThis.process.argv.slice(2);
const [runtime, controlUrl] = args;
const entry = import.meta.resolve('grantkit');
const report = await runScenario(gk, { controlUrl, runtime });
console.log(JSON.stringify({ ...report, entry }));
