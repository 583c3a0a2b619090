// The load generator: wrk (Debian's, LuaJIT scripting), one thread pinned to the load CPU.
// A Lua `done` hook prints the latency percentiles and error counts as JSON. For a fixed request
// rate (wrk has none of its own), a `delay` hook hands out send slots on a shared schedule, so the
// connections together keep the asked rate as long as the server keeps up (slots are rounded to
// wrk's millisecond timers: requests leave in small bursts each millisecond).
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface WrkResult {
  requests: number;
  seconds: number;
  rps: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Socket errors (connect, read, write, timeout) and responses other than 2xx/3xx. */
  errors: number;
  non2xx: number;
}

const REPORT = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('BENCH_JSON {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50":%d,"p90":%d,"p99":%d,"max":%d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
`;

const PACED = `
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } egts_bench_timespec;
int clock_gettime(int clock, egts_bench_timespec *ts);
]]
local ts = ffi.new("egts_bench_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts)
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end
local interval = 1000 / tonumber(os.getenv("EGTS_BENCH_RATE"))
local next_slot = nil
function delay()
  local now = now_ms()
  -- After a stall, start the schedule again from now rather than firing the backlog at once.
  if next_slot == nil or next_slot < now - 100 then next_slot = now end
  local slot = next_slot
  next_slot = next_slot + interval
  local d = slot - now
  if d <= 0 then return 0 end
  return math.floor(d + 0.5)
end
`;

let scripts: { report: string; paced: string } | undefined;
function scriptFiles() {
  if (!scripts) {
    const dir = mkdtempSync(join(tmpdir(), 'egts-wrk-'));
    scripts = { report: join(dir, 'report.lua'), paced: join(dir, 'paced.lua') };
    writeFileSync(scripts.report, REPORT);
    writeFileSync(scripts.paced, REPORT + PACED);
  }
  return scripts;
}

export interface WrkOptions {
  url: string;
  host?: string;
  connections: number;
  seconds: number;
  cpu: string;
  /** Requests per second for the whole run; unset: as fast as the server answers. */
  rate?: number;
}

export function runWrk(o: WrkOptions): Promise<WrkResult> {
  const s = scriptFiles();
  const args = ['-c', o.cpu, 'wrk', '-t1', `-c${o.connections}`, `-d${o.seconds}s`, '--timeout', '10s', '-s', o.rate ? s.paced : s.report];
  if (o.host) args.push('-H', `Host: ${o.host}`);
  args.push(o.url);
  const env = { ...process.env, EGTS_BENCH_RATE: String(o.rate ?? 0) };
  return new Promise((resolve, reject) => {
    execFile('taskset', args, { env, timeout: (o.seconds + 30) * 1000 }, (err, stdout, stderr) => {
      const line = /BENCH_JSON (\{.*\})/.exec(stdout)?.[1];
      if (!line) { reject(new Error(`wrk failed: ${err?.message ?? ''}\n${stdout}\n${stderr}`)); return; }
      const j = JSON.parse(line) as Record<string, number>;
      const seconds = j.duration_us! / 1e6;
      resolve({
        requests: j.requests!,
        seconds,
        rps: j.requests! / seconds,
        p50Ms: j.p50! / 1000,
        p90Ms: j.p90! / 1000,
        p99Ms: j.p99! / 1000,
        maxMs: j.max! / 1000,
        errors: j.connect! + j.read! + j.write! + j.timeout!,
        non2xx: j.status!,
      });
    });
  });
}
