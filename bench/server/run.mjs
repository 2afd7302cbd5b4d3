// Server throughput: verified logins per second on one core for the example servers
// (examples/bank-portal in Rust/axum, examples/node-server in Node), driven by wrk over loopback.
// Called by bench/server.sh, which builds and installs what this needs; writes OUT (server.json:
// `text` for BENCHMARKS.md, `runs` with every measurement).
//
// A verified login is two requests, as www/app.js makes them: POST /api/challenge, then POST
// /api/login with `{nonce, token}`, the token signed by the card over that very nonce. A replayed
// request is refused (NONCE_REPLAYED), so each login body can be sent once only:
//   1. wrk POSTs a fixed number of challenges (timed: challenges/s) and keeps every nonce;
//   2. the virtual card (npm package, bench/server/sign.mjs) signs a login body for each nonce,
//      while the server idles (not timed: that is the citizen's card's work);
//   3. wrk POSTs each login body once for a fixed time (timed: logins/s), with more bodies than
//      the run can use (a run that runs out is discarded and redone with more).
// Every answer is checked (challenge: 200 with a nonce; login: 200 with "ok":true); a run with a
// single failure or socket error is not a figure: the step fails. Each fresh server must also
// refuse a replayed body and a tampered signature before it is timed. The server (and Redis) are
// pinned to one core, wrk and the signer to the other; the server's own CPU time is read from
// /proc so that a core shared with other work shows.
//
//   node run.mjs --out FILE --pkg DIR --node-server DIR [--rust BIN] [--redis URL --redis-pid PID]
//                [--runs 3] [--login-secs 8] [--challenges 30000] [--challenge-secs 3] [--connections 8]
//                [--server-cpu 0] [--client-cpu 1] [--only rust-memory,rust-redis,node-memory,node-redis]
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync, existsSync, openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
// The pre-login cookie challenge.lua and login.lua send: challenges are bound to it (issue 15).
const PRELOGIN = 'hoviat_prelogin=aG92aWF0LWJlbmNoLW9uZS1jbGllbnQtMzJieXRlcyE=';
const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const RUNS = Number(args.runs || 3);
const LOGIN_SECS = Number(args['login-secs'] || 8);
const CHALLENGE_SECS = Number(args['challenge-secs'] || 3);
const CONN = Number(args.connections || 8);
// Timed challenges: this many or CHALLENGE_SECS, whichever comes first (the Node package's
// memory store holds at most 100,000 open challenges; Rust's 1,000,000).
const CHALLENGE_MAX = Number(args['challenges'] || 30000);
const SCPU = String(args['server-cpu'] ?? 0);
const CCPU = String(args['client-cpu'] ?? 1);
const T = mkdtempSync(path.join(tmpdir(), 'hoviat-server-bench-'));
const log = (s) => process.stderr.write(`server bench: ${s}\n`);
const die = (s) => { log(`FAILED: ${s}`); cleanup(); process.exit(1); };
const TICK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || 100);
const children = new Set();
function cleanup() {
  for (const c of children) try { c.kill('SIGTERM'); } catch {}
  rmSync(T, { recursive: true, force: true });
}
process.on('SIGINT', () => die('interrupted'));

/** utime + stime of a process (all its threads), seconds. */
function cpuSecs(pid) {
  if (!pid) return 0;
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / TICK;
}
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

/** Starts a server pinned to the server core; resolves with {proc, url} once it prints its address. */
function startServer(kind, store, runNo) {
  const errLog = path.join(T, `${kind}-${store}-${runNo}.log`);
  let cmd;
  if (kind === 'rust') {
    // One load generator is one client address: the per-client challenge limit (a defence
    // against one client's flood) is off, or it would be what is measured.
    cmd = [args.rust, '--listen', '127.0.0.1:0', '--log', errLog, '--max-challenges-per-client', '0'];
    if (store === 'redis') cmd.push('--redis', args.redis, '--redis-prefix', `bench${process.pid}-${runNo}:`);
  } else {
    cmd = [process.execPath, path.join(args['node-server'], 'server.mjs'), '--port', '0', '--max-challenges-per-client', '0'];
    if (store === 'redis') cmd.push('--redis', args.redis, '--redis-prefix', `bench${process.pid}-node-${runNo}:`);
  }
  const p = spawn('taskset', ['-c', SCPU, ...cmd], { stdio: ['ignore', 'pipe', kind === 'rust' ? 'inherit' : openSync(errLog, 'a')] });
  children.add(p);
  return new Promise((resolve, reject) => {
    let out = '';
    const t = setTimeout(() => reject(new Error(`${kind} server did not start: ${out}`)), 30000);
    p.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/[0-9.:]+)/.exec(out);
      if (m) { clearTimeout(t); resolve({ proc: p, url: m[1], log: errLog }); }
    });
    p.on('exit', (c) => { clearTimeout(t); reject(new Error(`${kind} server exited (${c}): ${out}`)); });
  });
}
async function stopServer(s) {
  s.proc.removeAllListeners('exit');
  const gone = new Promise((r) => s.proc.once('exit', r));
  s.proc.kill('SIGTERM');
  await gone;
  children.delete(s.proc);
}

/** One wrk run pinned to the client core; returns its BENCH line plus the server's CPU time. */
function wrk(url, script, secs, scriptArgs, env, pids) {
  const cpu0 = pids.map(cpuSecs);
  const t0 = process.hrtime.bigint();
  const r = spawnSync('taskset', ['-c', CCPU, 'wrk', '-t1', `-c${CONN}`, `-d${secs}s`, '--timeout', '5s', '-s', path.join(here, script), url,
    ...(scriptArgs.length ? ['--', ...scriptArgs] : [])], { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 1 << 24 });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = pids.map((p, i) => cpuSecs(p) - cpu0[i]).reduce((a, b) => a + b, 0);
  const line = (r.stdout || '').split('\n').find((l) => l.startsWith('BENCH '));
  if (r.status !== 0 || !line) die(`wrk ${script} exited ${r.status}: ${r.stderr}${r.stdout}`);
  const j = JSON.parse(line.slice(6));
  j.server_cpu_s = cpu;
  j.wall_s = wall;
  // Challenges stop at a count and time themselves (challenge.lua); logins run for the whole -d.
  j.rate = j.span_us > 0 ? (j.ok - 1) / (j.span_us / 1e6) : j.ok / (j.duration_us / 1e6);
  return j;
}
const sockErrors = (j) => j.errors.connect + j.errors.read + j.errors.write + j.errors.timeout;
function mustBeClean(j, what) {
  if (j.bad || sockErrors(j) || j.ok + j.bad + (j.extra || 0) !== j.requests) {
    die(`${what}: ${j.ok} ok, ${j.bad} failed (first: ${j.firstbad}), socket errors ${JSON.stringify(j.errors)}, ${j.requests} requests`);
  }
}

/** Signs one login body per nonce, in two processes (the server idles meanwhile). */
function sign(origin, nonces, out) {
  const half = Math.ceil(nonces.length / 2);
  const parts = [nonces.slice(0, half), nonces.slice(half)].filter((p) => p.length);
  const t0 = Date.now();
  const procs = parts.map((p, i) => {
    const nf = path.join(T, `nonces-${i}.txt`);
    writeFileSync(nf, p.join('\n') + '\n');
    return new Promise((resolve, reject) => {
      const c = spawn(process.execPath, [path.join(here, 'sign.mjs'), args.pkg, origin, nf, `${out}.${i}`], { stdio: ['ignore', 'pipe', 'inherit'] });
      let o = '';
      c.stdout.on('data', (d) => { o += d; });
      c.on('exit', (code) => (code === 0 ? resolve(JSON.parse(o)) : reject(new Error(`sign.mjs exited ${code}`))));
    });
  });
  return Promise.all(procs).then((rs) => {
    writeFileSync(out, parts.map((_, i) => readFileSync(`${out}.${i}`, 'utf8')).join(''));
    return { signed: rs.reduce((a, r) => a + r.signed, 0), ms: Date.now() - t0, algorithm: rs[0].algorithm };
  });
}

let workload = null;
const revocation = {};
/** One measured run of a configuration on a fresh server. */
async function oneRun(kind, store, runNo, est) {
  const srv = await startServer(kind, store, runNo);
  const pids = [srv.proc.pid, ...(store === 'redis' && args['redis-pid'] ? [Number(args['redis-pid'])] : [])];
  const cfg = await (await fetch(`${srv.url}/api/config`)).json();
  const nf = path.join(T, 'nonces.txt');
  const env = { BENCH_NONCES: nf };
  let nonces = [];
  const moreNonces = (secs, max) => {
    const j = wrk(`${srv.url}/api/challenge`, 'challenge.lua', secs, [], { ...env, BENCH_MAX: String(max) }, pids);
    mustBeClean(j, `${kind}+${store} challenges`);
    nonces.push(...readFileSync(nf, 'utf8').split('\n').filter(Boolean));
    return j;
  };
  moreNonces(1, 5000); // warm-up
  nonces = [];
  const ch = moreNonces(CHALLENGE_SECS, CHALLENGE_MAX);
  const take = async (n) => {
    while (nonces.length < n) moreNonces(3, n - nonces.length + 500);
    const mine = nonces.splice(0, n);
    const bodies = path.join(T, 'bodies.txt');
    const s = await sign(cfg.origin, mine, bodies);
    if (s.signed !== n) die(`signed ${s.signed} of ${n}`);
    workload = workload || s.algorithm;
    return { bodies, s };
  };
  // Warm-up logins (1 s), which also estimate the rate on the first run.
  for (let w = est ? Math.ceil(est * 1.5) + 100 : 1500; ; w *= 2) {
    const { bodies } = await take(w);
    const j = wrk(`${srv.url}/api/login`, 'login.lua', 1, [bodies, '1'], {}, pids);
    if (j.exhausted) continue;
    mustBeClean(j, `${kind}+${store} warm-up logins`);
    est = Math.max(est || 0, j.rate);
    // The server under test refuses what it must: a body already used, and a fresh nonce's
    // body with one signature byte flipped.
    // (Line 2: wrk calls request() once before it starts, to check the request, so line 1 is never sent.)
    const used = readFileSync(bodies, 'utf8').split('\n')[1];
    const { bodies: fresh } = await take(1);
    const bad = JSON.parse(readFileSync(fresh, 'utf8'));
    const sig = Buffer.from(bad.token.signature, 'base64');
    sig[sig.length - 5] ^= 1;
    bad.token.signature = sig.toString('base64');
    // And one genuine login read in full: what it proved (revocation) goes into the text.
    const { bodies: one } = await take(1);
    const g = await fetch(`${srv.url}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json', cookie: PRELOGIN }, body: readFileSync(one, 'utf8').trim() });
    const gj = await g.json().catch(() => ({}));
    if (g.status !== 200 || !gj.ok) die(`${kind}+${store}: a genuine login got ${g.status} ${JSON.stringify(gj).slice(0, 200)}`);
    revocation[kind] = gj.identity?.assurance?.revocation ?? '?';
    for (const [body, want] of [[used, 'NONCE_REPLAYED'], [JSON.stringify(bad), 'TOKEN_SIGNATURE_INVALID']]) {
      const r = await fetch(`${srv.url}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json', cookie: PRELOGIN }, body });
      const code = (await r.json().catch(() => ({}))).error?.code;
      if (r.status !== 401 || code !== want) die(`${kind}+${store}: expected 401 ${want}, got ${r.status} ${code}`);
    }
    break;
  }
  let login, signed;
  // Node speeds up after the 1 s warm-up (JIT): a wide margin saves a redo.
  for (let k = Math.ceil(est * LOGIN_SECS * 1.6) + 200, tries = 0; ; k = Math.ceil(k * 1.5), tries++) {
    const { bodies, s } = await take(k);
    signed = s;
    login = wrk(`${srv.url}/api/login`, 'login.lua', LOGIN_SECS, [bodies, '1'], {}, pids);
    if (!login.exhausted) break;
    if (tries === 2) die(`${kind}+${store}: ran out of login bodies three times`);
    log(`${kind}+${store} run ${runNo}: ${k} bodies were not enough, again with more`);
  }
  mustBeClean(login, `${kind}+${store} logins`);
  await stopServer(srv);
  const r = { kind, store, run: runNo, connections: CONN, challenge: ch, login, signed, load: loadavg(),
    verified_per_s: 1 / (1 / ch.rate + 1 / login.rate),
    cpu_per_verified_ms: 1000 * (ch.server_cpu_s / ch.ok + login.server_cpu_s / login.ok) };
  log(`${kind}+${store} run ${runNo}: challenges ${ch.rate.toFixed(0)}/s, logins ${login.rate.toFixed(0)}/s ` +
    `(p50 ${(login.p50_us / 1000).toFixed(1)} ms, p99 ${(login.p99_us / 1000).toFixed(1)} ms, ${login.ok} ok, 0 failed), ` +
    `server CPU ${(100 * login.server_cpu_s / login.wall_s).toFixed(0)}% of the wall time, load ${r.load}`);
  return r;
}

const configs = [];
if (args.rust) configs.push(['rust', 'memory']);
if (args.rust && args.redis) configs.push(['rust', 'redis']);
configs.push(['node', 'memory']);
if (args.redis) configs.push(['node', 'redis']);
const only = args.only ? args.only.split(',') : null;
const load0 = loadavg();
const t0 = Date.now();
const runs = [];
for (const [kind, store] of configs) {
  if (only && !only.includes(`${kind}-${store}`)) continue;
  let est = null;
  for (let i = 1; i <= RUNS; i++) {
    try {
      const r = await oneRun(kind, store, i, est);
      est = r.login.rate;
      runs.push(r);
    } catch (e) { die(`${kind}+${store}: ${e.message}`); }
  }
}
const load1 = loadavg();

// ---- The section for BENCHMARKS.md
const med = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const f0 = (x) => Math.round(x).toLocaleString('en-US');
const ms = (us) => (us / 1000).toFixed(us >= 10000 ? 0 : 1);
const v = (cmd) => spawnSync('sh', ['-c', cmd], { encoding: 'utf8' }).stdout.trim();
const wrkV = v("wrk --version 2>&1 | head -1 | awk '{print $2}'").replace(/^debian\//, '').replace(/-.*/, '');
const redisV = args.redis ? v("redis-server --version | awk '{print $3}'").replace(/^v=/, '') : null;
// Which signature backend the Rust kit's login uses, read from its source (the binary does not say).
let rustBackend = 'see crates/rp/src/lib.rs';
let rustBackendName = '';
try {
  const src = readFileSync(path.join(root, 'crates/rp/src/lib.rs'), 'utf8');
  const awsLc = /^aws-lc\s*=/m.test(readFileSync(path.join(root, 'Cargo.toml'), 'utf8'));
  if (/default_backend\(\)/.test(src)) {
    rustBackendName = 'default';
    rustBackend = `the build's default, \`pki::alg::default_backend()\`${awsLc ? ' (aws-lc, a default feature)' : ''} (crates/rp/src/lib.rs)`;
  } else if (/&RustCrypto\b/.test(src)) {
    rustBackendName = 'RustCrypto';
    rustBackend = '`RustCrypto` (`ChallengeService::verify_login`, crates/rp/src/lib.rs)';
  }
} catch {}
let nodeBackend = '?';
try { nodeBackend = (await import(pathToFileURL(path.resolve(args.pkg, 'node/index.mjs')).href)).defaultBackend; } catch {}
const label = { 'rust-memory': 'Rust (axum), nonces in memory', 'rust-redis': `Rust (axum), nonces in Redis ${redisV}`, 'node-memory': `Node ${process.version}, nonces in memory`, 'node-redis': `Node ${process.version}, nonces in Redis ${redisV}` };
const rows = [];
const L = [];
L.push(`One core per server: the server${args.redis ? ' (and for the Redis store, redis-server)' : ''} pinned with \`taskset -c ${SCPU}\`, wrk ${wrkV} (Debian) and the token signer with \`taskset -c ${CCPU}\`, over loopback, plain HTTP/1.1 with keep-alive (no TLS: a terminator in front adds its own cost). ` +
  `A **verified login** is what www/app.js does: \`POST /api/challenge\`, then \`POST /api/login\` with \`{nonce, token}\` (a session cookie is set). ` +
  'Each login body carries a token signed by the card over its own fresh nonce and can be sent once only (a replay is `NONCE_REPLAYED`), so wrk cannot repeat one request: ' +
  `wrk first POSTs ${f0(CHALLENGE_MAX)} challenges (or for ${CHALLENGE_SECS} s if fewer) and keeps every nonce (timed from the first answer to the last), the virtual card signs a login body for each nonce while the server idles (not timed: the citizen's card does that), ` +
  `then wrk POSTs each body once for ${LOGIN_SECS} s (timed), from a list longer than the run can use (bench/server/). ${CONN} connections, 1 wrk thread; 1 s of warm-up challenges and logins on each fresh server first. ` +
  `Every answer is checked (200 with a nonce; 200 with \`"ok":true\`) and any failure or socket error stops the step, so each figure below is of successes only; before timing, each server must refuse a replayed login body (\`NONCE_REPLAYED\`) and one with a flipped signature byte (\`TOKEN_SIGNATURE_INVALID\`).`);
L.push('');
L.push(`Workload: ${workload || 'ES256'}, the virtual card's default holder (holder 1 of the light test registry: P-256 holder key, P-384 citizen CA, P-384 root), in demo mode (both servers trust that registry); revocation as the servers report it at login: ${Object.entries(revocation).map(([k, r]) => `${k === 'rust' ? 'Rust' : 'Node'} \`${r}\``).join(', ')}. ` +
  `Verification backend: Rust server ${rustBackend}; Node server the package's default \`${nodeBackend}\`. ` +
  `Rust: \`cargo build --release -p bank-portal\`, run as \`taskset -c ${SCPU} bank-portal --listen 127.0.0.1:0 --log FILE --max-challenges-per-client 0 [--redis URL]\` (its tokio runtime has 2 workers plus the blocking pool, all on that core); ` +
  `Node: \`taskset -c ${SCPU} node examples/node-server/server.mjs --port 0 --max-challenges-per-client 0 [--redis URL]\` (logs to a file too; its Redis store is examples/node-server/redis-store.mjs, the Rust kit's keys and script). The per-client challenge limit is off (one wrk is one client address; the limit is a flood defence, not the workload), and every request carries one pre-login cookie, to which the challenges are bound.${args.redis ? ` Redis: \`redis-server\` on a unix socket, no persistence, pinned with the server (its CPU is counted with the server's).` : ''}`);
L.push('');
L.push(`Medians of ${RUNS} runs, each on a fresh server process (in brackets: the lowest and highest run). **verified logins/s** = 1 / (1/challenges per s + 1/logins per s): one core doing both halves of each login. ` +
  '"server CPU per verified login" is the server\'s (and Redis\') own CPU time from /proc over the successes, summed over both phases; its inverse, verified logins per CPU-second, is the per-core figure that holds even when other work shares the core. ' +
  '"server CPU during logins" is that CPU time over the wall time of the login phase: under 100% means the core was shared (or not saturated). Latency is per request as wrk sees it, at that concurrency.');
L.push('');
L.push('| server | challenges/s | logins/s | verified logins/s | login latency p50 / p99 ms | challenge p50 / p99 ms | server CPU per verified login | verified logins per CPU-second | server CPU during logins | answers checked (all runs) |');
L.push('|---|---|---|---|---|---|---|---|---|---|');
for (const key of Object.keys(label)) {
  const rs = runs.filter((r) => `${r.kind}-${r.store}` === key);
  if (!rs.length) continue;
  const m = (f) => med(rs.map(f));
  const row = { key, label: label[key], challenges_per_s: m((r) => r.challenge.rate), logins_per_s: m((r) => r.login.rate), verified_per_s: m((r) => r.verified_per_s),
    login_p50_us: m((r) => r.login.p50_us), login_p99_us: m((r) => r.login.p99_us), challenge_p50_us: m((r) => r.challenge.p50_us), challenge_p99_us: m((r) => r.challenge.p99_us),
    cpu_per_verified_ms: m((r) => r.cpu_per_verified_ms), cpu_use: m((r) => r.login.server_cpu_s / r.login.wall_s),
    challenges_ok: rs.reduce((a, r) => a + r.challenge.ok, 0), logins_ok: rs.reduce((a, r) => a + r.login.ok, 0),
    spread: [Math.min(...rs.map((r) => r.verified_per_s)), Math.max(...rs.map((r) => r.verified_per_s))],
    per_cpu_s: m((r) => 1000 / r.cpu_per_verified_ms), cpu_spread: [Math.min(...rs.map((r) => 1000 / r.cpu_per_verified_ms)), Math.max(...rs.map((r) => 1000 / r.cpu_per_verified_ms))] };
  rows.push(row);
  L.push(`| ${row.label} | ${f0(row.challenges_per_s)} | ${f0(row.logins_per_s)} | **${f0(row.verified_per_s)}** (${f0(row.spread[0])}–${f0(row.spread[1])}) | ${ms(row.login_p50_us)} / ${ms(row.login_p99_us)} | ` +
    `${ms(row.challenge_p50_us)} / ${ms(row.challenge_p99_us)} | ${row.cpu_per_verified_ms.toFixed(2)} ms | **${f0(row.per_cpu_s)}** (${f0(row.cpu_spread[0])}–${f0(row.cpu_spread[1])}) | ${(100 * row.cpu_use).toFixed(0)}% | ${f0(row.logins_ok)} logins + ${f0(row.challenges_ok)} challenges, 0 failed |`);
}
L.push('');
const mins = ((Date.now() - t0) / 60000).toFixed(1);
L.push(`Load average at the start of this step ${load0}, at its end ${load1}; ${mins} min for the step.`);
const rr = Object.fromEntries(rows.map((r) => [r.key, r]));
// Comparisons by CPU time: on a shared machine the wall-clock rates carry whatever else ran.
if (rr['rust-memory'] && rr['node-memory']) {
  L.push(`Per CPU-second, Rust (memory) does ${(rr['rust-memory'].per_cpu_s / rr['node-memory'].per_cpu_s).toFixed(1)}× the verified logins of Node (memory).`);
}
for (const k of ['rust', 'node']) {
  const mem = rr[`${k}-memory`], red = rr[`${k}-redis`];
  if (!mem || !red) continue;
  const who = k === 'rust' ? 'Rust' : 'Node';
  const c = 100 * (1 - red.per_cpu_s / mem.per_cpu_s);
  L.push(c >= 1 ? `The Redis nonce store costs the ${who} server ${c.toFixed(0)}% of its verified logins per CPU-second (a round trip per challenge and per login, and Redis' own CPU, counted with the server's).`
    : `The Redis nonce store costs the ${who} server no measurable share of its verified logins per CPU-second in this run (${c.toFixed(0)}%; Redis' own CPU is counted with the server's).`);
}
if (rustBackendName === 'RustCrypto' && rr['rust-memory']) {
  L.push('The Rust server verifies with the portable RustCrypto backend: `ChallengeService` passes `&RustCrypto`, not `pki::default_backend()` (aws-lc in this build), ' +
    'so its figures carry RustCrypto\'s P-384 and P-256 arithmetic (the native table above shows what aws-lc saves on the same curves).');
}
const text = L.join('\n');
const summary = `server: ${rows.map((r) => `${r.key} ${f0(r.verified_per_s)} verified logins/s (login p99 ${ms(r.login_p99_us)} ms)`).join(', ')}`;
writeFileSync(args.out, JSON.stringify({ text, summary, rows, runs, load_start: load0, load_end: load1 }, null, 1));
log(summary);
cleanup();
