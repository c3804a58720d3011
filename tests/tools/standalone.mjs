// Standalone mode of the local test servers (tests/idp/server.mjs,
// tests/acp/server.mjs): `node SERVER [--port N] [--ready-file PATH]` starts
// the server, prints one JSON line describing it (also written to the ready
// file) and exits 0 on SIGTERM or SIGINT.
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';

function parseArgs(argv) {
  const out = { port: 0, readyFile: undefined };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    const [name, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = () => {
      if (inline !== undefined) return inline;
      i += 1;
      if (i >= argv.length) throw new Error(`${name} needs a value`);
      return argv[i];
    };
    if (name === '--port') {
      const v = value();
      if (!/^\d+$/.test(v) || Number(v) > 65535) throw new Error(`invalid --port ${v}`);
      out.port = Number(v);
    } else if (name === '--ready-file') {
      out.readyFile = value();
    } else if (name === '--help' || name === '-h') {
      out.help = true;
    } else {
      throw new Error(`unknown argument ${arg}`);
    }
  }
  return out;
}

/** Whether `moduleUrl` (a server's import.meta.url) is the script node was started with. */
export function isMain(moduleUrl) {
  return Boolean(process.argv[1]) && fileURLToPath(moduleUrl) === fs.realpathSync(process.argv[1]);
}

/**
 * Runs a server standalone. `start({ port })` resolves to the server object,
 * whose JSON is the ready line and which has `close()`.
 */
export async function runStandalone({ name, script, start }) {
  const usage = `usage: node ${script} [--port N] [--ready-file PATH]\n`;
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${name}: ${e.message}\n${usage}`);
    process.exit(2);
  }
  if (args.help) {
    process.stdout.write(usage);
    return;
  }
  // Handlers first, so a signal that arrives right after the ready line is
  // printed (or during start-up) still ends the process cleanly with exit 0.
  let server;
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    if (server) await server.close();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  try {
    server = await start({ port: args.port });
  } catch (e) {
    process.stderr.write(`${name}: ${e.message}\n`);
    process.exit(1);
  }
  if (stopping) {
    await server.close();
    process.exit(0);
  }
  const line = JSON.stringify(server);
  if (args.readyFile) fs.writeFileSync(args.readyFile, `${line}\n`);
  process.stdout.write(`${line}\n`);
}
