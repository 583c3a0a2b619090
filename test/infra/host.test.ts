import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ProxyInfra } from '../../src/ir/infra.js';
import { HostInfraManager } from '../../src/infra/host/manager.js';
import { Supervisor, type SupervisorEvent } from '../../src/infra/host/process.js';
import { until } from '../support/until.js';

// A stand-in child: prints its argument, and on SIGTERM says so and exits after a short drain
// (or ignores SIGTERM entirely when asked to).
const child = `
const [mode, label] = process.argv.slice(1);
process.on('SIGTERM', () => {
  if (mode === 'stubborn') return;
  console.log('draining ' + label);
  setTimeout(() => process.exit(0), 50);
});
console.log('up ' + label);
if (mode === 'crash') process.exit(3);
setInterval(() => {}, 1000);
`;
const spec = (mode: string, label: string) => ({ command: process.execPath, args: ['-e', child, mode, label] });

test('a killed process is restarted quickly, a crash loop backs off', async () => {
  const events: SupervisorEvent[] = [];
  const s = new Supervisor(spec('serve', 'a'), { initialBackoffMs: 50, onEvent: (e) => events.push(e) });
  s.start();
  await until('the first start', () => events.some((e) => e.type === 'started'));
  const first = s.pid!;
  process.kill(first, 'SIGKILL');
  await until('a restart with a new pid', () => s.pid !== undefined && s.pid !== first && s.state === 'running');
  assert.equal(s.restarts, 1);
  await s.stop();
  assert.equal(s.state, 'stopped');

  const loop: SupervisorEvent[] = [];
  const c = new Supervisor(spec('crash', 'b'), { initialBackoffMs: 20, maxBackoffMs: 80, onEvent: (e) => loop.push(e) });
  c.start();
  await until('four restarts', () => c.restarts >= 4);
  await c.stop();
  const delays = loop.flatMap((e) => (e.type === 'restart-scheduled' ? [e.delayMs] : []));
  assert.deepEqual(delays.slice(0, 4), [20, 40, 80, 80]);
});

test('stop sends SIGTERM for a drain, and SIGKILL when the drain time is over', async () => {
  const lines: string[] = [];
  const s = new Supervisor(spec('serve', 'x'), { onLine: (l) => lines.push(l) });
  s.start();
  await until('x up', () => lines.includes('up x'));
  await s.stop();
  assert.ok(lines.includes('draining x'));

  const stubborn = new Supervisor(spec('stubborn', 'y'), { onLine: (l) => lines.push(l) });
  stubborn.start();
  await until('y up', () => lines.includes('up y'));
  const t0 = Date.now();
  await stubborn.stop(200);
  assert.ok(Date.now() - t0 >= 190);
  assert.equal(stubborn.state, 'stopped');
});

test('the manager runs one process per IR key and follows the infra IR', async () => {
  const lines: string[] = [];
  const infra = (name: string, port: number): ProxyInfra => ({ name, listeners: [{ name: 'l', ports: [{ name: `http-${port}`, protocol: 'HTTP', servicePort: port, containerPort: port }] }] });
  const m = new HostInfraManager({
    command: (key, i) => spec('serve', `${key}:${i.listeners![0]!.ports![0]!.containerPort}`),
    onLine: (_k, l) => lines.push(l),
  });
  await m.apply(new Map([['ns/a', infra('ns/a', 80)], ['ns/b', infra('ns/b', 81)]]));
  await until('both gateways up', () => lines.includes('up ns/a:80') && lines.includes('up ns/b:81'));
  assert.deepEqual(m.list().map((p) => p.irKey).sort(), ['ns/a', 'ns/b']);
  const pidB = m.get('ns/b')!.pid;

  // Same settings: nothing restarts. Changed settings: replaced. Removed: drained.
  await m.apply(new Map([['ns/b', infra('ns/b', 81)]]));
  assert.equal(m.get('ns/b')!.pid, pidB);
  await m.apply(new Map([['ns/a', infra('ns/a', 90)], ['ns/b', undefined]]));
  await until('ns/a up on its new port', () => lines.includes('up ns/a:90'));
  assert.ok(lines.includes('draining ns/a:80'));
  assert.ok(lines.includes('draining ns/b:81'));
  assert.deepEqual(m.list().map((p) => p.irKey), ['ns/a']);

  await m.close();
  assert.ok(lines.includes('draining ns/a:90'));
  assert.deepEqual(m.list(), []);
});
