// What every section of the benchmark shares: the settings, timing loops,
// interleaved rounds with medians, child processes, and number formatting.
import { execFile, spawn } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(HERE, '..', '..');
export const PKG = path.join(ROOT, 'pkg');
export const FIXTURES = path.join(ROOT, 'tests', 'fixtures');

// BENCH_QUICK=1: short samples and few rounds, for working on the harness.
export const QUICK = process.env.BENCH_QUICK === '1';
/** Seconds per timed sample (one contender, one round). */
export const SECONDS = Number(process.env.BENCH_SECONDS ?? (QUICK ? 0.25 : 1));
/** Rounds per figure; each round runs every contender once, in a rotated order. */
export const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (QUICK ? 3 : 5));
/** Fresh processes / isolates per contender for the cold-start figures. */
export const COLD_RUNS = Number(process.env.BENCH_COLD_RUNS ?? (QUICK ? 3 : 9));

export function log(message) {
  process.stderr.write(`bench: ${message}\n`);
}

export const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

export const loadavg = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');

/**
 * Runs measure(contender) for every contender in each of `rounds` rounds,
 * the order rotated each round so that load from outside and the garbage of
 * the previous contender fall on all alike. Returns name -> [result per round].
 */
export async function interleave(contenders, measure, rounds = ROUNDS) {
  const results = Object.fromEntries(contenders.map((c) => [c.name, []]));
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < contenders.length; i++) {
      const c = contenders[(i + r) % contenders.length];
      results[c.name].push(await measure(c));
    }
  }
  return results;
}

/**
 * Calls fn (async) with `width` callers at once for `seconds`: operations
 * per second and the CPU time of this process per operation (µs, user +
 * system, from process.cpuUsage).
 */
export async function rate(fn, { seconds = SECONDS, width = 1 } = {}) {
  let n = 0;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const end = start + seconds * 1000;
  const caller = async () => {
    while (performance.now() < end) {
      await fn();
      n++;
    }
  };
  await Promise.all(Array.from({ length: width }, caller));
  const elapsed = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { perSecond: n / elapsed, cpuMicros: (cpu.user + cpu.system) / n };
}

/** The same for a synchronous fn, without an await per call. */
export function rateSync(fn, seconds = SECONDS) {
  let n = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  while (performance.now() < end) {
    fn();
    n++;
  }
  return { perSecond: n / ((performance.now() - start) / 1000) };
}

/** Medians of each numeric field over the rounds of one contender. */
export function medians(samples) {
  const out = {};
  for (const key of Object.keys(samples[0])) out[key] = median(samples.map((s) => s[key]));
  return out;
}

const execFileAsync = promisify(execFile);

/**
 * Runs a command (from the repository root) and resolves with its stdout;
 * rejects on a non-zero exit, with its stderr. Killed after timeoutMs.
 */
export async function run(command, args, { timeoutMs = 120_000 } = {}) {
  const { stdout } = await execFileAsync(command, args, { cwd: ROOT, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 2 ** 20 });
  return stdout;
}

// ---------------------------------------------------------------------------
// Formatting for bench/RESULTS.md.

/** 1234.5 -> "1,235"; small numbers keep significant digits. */
export function num(x, digits) {
  if (x === undefined || x === null || Number.isNaN(x)) return '—';
  const d = digits ?? (Math.abs(x) >= 100 ? 0 : Math.abs(x) >= 10 ? 1 : 2);
  return x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
}

/** A ratio as "0.83×". */
export const times = (x) => (Number.isFinite(x) ? `${x.toFixed(x < 0.1 ? 3 : 2)}×` : '—');

/**
 * A target: `value` against `limit` (≥ when atLeast, else ≤). Returns the
 * measured ÷ target ratio and "met" / "**missed**".
 */
export function against(value, limit, { atLeast = true } = {}) {
  if (!Number.isFinite(value)) return { ratio: '—', verdict: 'not measured' };
  const ok = atLeast ? value >= limit : value <= limit;
  return { ratio: (value / limit).toFixed(2), verdict: ok ? 'met' : '**missed**' };
}

/** A markdown table from a header row and rows of cells. */
export function table(header, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/**
 * Starts tests/bench/token_server.mjs MODE in a process of its own; resolves
 * with its {tokenEndpoint, clientId, clientSecret, scope} and stop().
 */
export function startTokenServer(mode) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(HERE, 'token_server.mjs'), mode], { stdio: ['pipe', 'pipe', 'inherit'] });
    let buffered = '';
    const onData = (d) => {
      buffered += d;
      const nl = buffered.indexOf('\n');
      if (nl < 0) return;
      child.stdout.off('data', onData);
      child.stdout.resume(); // whatever the server prints later is dropped
      const info = JSON.parse(buffered.slice(0, nl));
      const exited = new Promise((r) => { child.on('close', r); });
      resolve({ ...info, stop: async () => { child.stdin.end(); await exited; } });
    };
    child.stdout.on('data', onData);
    child.on('error', reject);
    child.on('close', (code) => reject(new Error(`token server (${mode}) exited ${code} before listening`)));
  });
}
