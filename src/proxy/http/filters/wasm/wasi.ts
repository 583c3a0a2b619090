// The part of WASI (preview 1) Proxy-Wasm hosts give plugins built for wasm32-wasi (Rust,
// TinyGo, ...): stdout/stderr as log lines, the plugin's environment variables, clocks, random
// bytes and exit. No files: there are no preopened directories, other descriptors are EBADF.
import { randomFillSync } from 'node:crypto';
import { scriptLog } from '../script_log.js';
import type { WasmPlugin } from './plugin.js';

const ESUCCESS = 0;
const EBADF = 8;
const EINVAL = 28;
const ENOSYS = 52;

/** proc_exit: unwinds the module's stack; the caller decides what the exit means. */
export class ProcExit extends Error {
  constructor(readonly code: number) { super(`proc_exit(${code})`); }
}

type Fn = (...args: any[]) => number | void;

export function wasiFunctions(p: WasmPlugin): Record<string, Fn> {
  const envEntries = () => Object.entries(p.config.env).map(([k, v]) => Buffer.from(`${k}=${v}\0`));
  const lineBuf: Record<number, string> = { 1: '', 2: '' };
  return {
    fd_write(fd: number, iovs: number, iovsLen: number, nwritten: number): number {
      if (fd !== 1 && fd !== 2) return EBADF;
      let total = 0;
      let text = '';
      for (let i = 0; i < iovsLen; i++) {
        const iov = p.read(iovs + i * 8, 8);
        if (!iov) return EINVAL;
        const data = p.read(iov.readUInt32LE(0), iov.readUInt32LE(4));
        if (!data) return EINVAL;
        text += data.toString('utf8');
        total += data.length;
      }
      // Whole lines become log lines: info for stdout, error for stderr.
      const lines = (lineBuf[fd] + text).split('\n');
      lineBuf[fd] = lines.pop()!;
      for (const line of lines) scriptLog(fd === 1 ? 2 : 4, p.config.name, `wasm log: ${line}`);
      p.writeU32(nwritten, total);
      return ESUCCESS;
    },
    fd_read: () => EBADF,
    fd_close: () => ESUCCESS,
    fd_seek: () => EBADF,
    fd_fdstat_get(fd: number, buf: number): number {
      if (fd > 2) return EBADF;
      // filetype character device (2), no flags, no rights restrictions.
      const st = Buffer.alloc(24);
      st.writeUInt8(2, 0);
      st.writeBigUInt64LE(0xffffffffffffffffn, 8);
      st.writeBigUInt64LE(0xffffffffffffffffn, 16);
      return p.write(buf, st) ? ESUCCESS : EINVAL;
    },
    fd_prestat_get: () => EBADF,
    fd_prestat_dir_name: () => EBADF,
    environ_sizes_get(countPtr: number, sizePtr: number): number {
      const e = envEntries();
      p.writeU32(countPtr, e.length);
      p.writeU32(sizePtr, e.reduce((n, b) => n + b.length, 0));
      return ESUCCESS;
    },
    environ_get(environ: number, buf: number): number {
      let o = buf;
      envEntries().forEach((b, i) => { p.writeU32(environ + i * 4, o); p.write(o, b); o += b.length; });
      return ESUCCESS;
    },
    args_sizes_get(countPtr: number, sizePtr: number): number { p.writeU32(countPtr, 0); p.writeU32(sizePtr, 0); return ESUCCESS; },
    args_get: () => ESUCCESS,
    clock_time_get(id: number, _precision: bigint, out: number): number {
      const ns = id === 0 ? BigInt(Date.now()) * 1_000_000n : process.hrtime.bigint();
      return p.writeU64(out, ns) ? ESUCCESS : EINVAL;
    },
    clock_res_get(_id: number, out: number): number { return p.writeU64(out, 1000n) ? ESUCCESS : EINVAL; },
    random_get(buf: number, len: number): number {
      const b = Buffer.alloc(len >>> 0);
      randomFillSync(b);
      return p.write(buf, b) ? ESUCCESS : EINVAL;
    },
    sched_yield: () => ESUCCESS,
    poll_oneoff: () => ENOSYS,
    proc_exit(code: number): never { throw new ProcExit(code); },
  };
}
