// The `egts` command line: one subcommand per module, loaded on demand so that
// `egts proxy` does not pay for the translator and `egts translate` does not pay for the proxy.
import { keepRunningWithoutOutput } from './stdio.js';

type Command = { summary: string; load: () => Promise<{ run(argv: string[]): Promise<number> }> };

const commands: Record<string, Command> = {
  certgen: { summary: 'generate the certificates for mTLS between egts serve and its proxies', load: () => import('./certgen.js') },
  serve: { summary: 'run the gateway the manifests in a folder describe (standalone mode)', load: () => import('./serve.js') },
  status: { summary: 'show the status of the resources served by egts serve', load: () => import('./status.js') },
  ratelimit: { summary: 'run the built-in global rate limit service (gRPC, counters in memory or Redis)', load: () => import('./ratelimit.js') },
  proxy: { summary: 'run the built-in proxy from an Envoy config file or an ADS server', load: () => import('./proxy.js') },
  echo: { summary: 'run an echo backend (HTTP/1.1, h2c, HTTPS, gRPC, WebSocket, TCP, UDP) for tests and demos', load: () => import('./echo.js') },
  golden: { summary: 'run a golden corpus suite (see ../shared/golden/README.md)', load: () => import('./golden/main.js') },
  translate: { summary: 'translate manifests offline: resources with status, xDS and infra IR', load: () => import('./translate.js') },
  validate: { summary: 'check resources as the API server would admit them', load: () => import('./validate.js') },
};

function usage(): string {
  const width = Math.max(...Object.keys(commands).map((c) => c.length));
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `usage: egts <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nRun 'egts <command> --help' for a command's options.`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    console.error(`egts: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  const mod = await command.load();
  return mod.run(rest);
}

// A process that egts serve runs (a proxy, an echo backend) is told its parent's pid: should the
// parent die without stopping it (SIGKILL, a crash), it stops itself instead of lingering.
keepRunningWithoutOutput();
const parentPid = Number(process.env.EGTS_PARENT_PID);
if (parentPid) {
  const watch = setInterval(() => {
    if (process.ppid === parentPid) return;
    clearInterval(watch);
    process.kill(process.pid, 'SIGTERM');
    setTimeout(() => process.exit(1), 5000).unref();
  }, 1000);
  watch.unref();
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    console.error(`egts: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
