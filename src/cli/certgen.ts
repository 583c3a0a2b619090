// `egts certgen`: generates the CA and the certificates for mTLS between the control plane and
// its proxies (what `egts serve` does by itself on first start), laid out like Envoy Gateway's
// Secrets: <out>/envoy-gateway/{ca.crt,tls.crt,tls.key} and <out>/envoy/{...}.
import { parseArgs } from 'node:util';
import { checkCertificates, defaultServerNames, generateCertificates, writeCertificates } from '../infra/certgen.js';
import { certsDir, defaultHome } from '../infra/host/home.js';

const usage = `usage: egts certgen [--out <dir>] [--server-name <name>]... [--days <n>] [--force]

Generates a CA, the xDS server certificate (envoy-gateway) and the proxies' client
certificate (envoy). Existing valid certificates are kept unless --force is given.

  --out <dir>          where to write them (default: <home>/certs, home = ${defaultHome()})
  --server-name <n>    a DNS name or IP the server certificate is valid for (repeatable;
                       default: ${defaultServerNames.slice(0, 3).join(', ')} and Envoy Gateway's service names)
  --days <n>           validity in days (default 1825)
  --force              replace existing certificates`;

export async function run(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        out: { type: 'string' },
        'server-name': { type: 'string', multiple: true },
        days: { type: 'string' },
        force: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (err) {
    console.error(`egts certgen: ${(err as Error).message}\n\n${usage}`);
    return 2;
  }
  if (args.help) {
    console.log(usage);
    return 0;
  }
  const days = args.days === undefined ? undefined : Number(args.days);
  if (days !== undefined && !(Number.isInteger(days) && days > 0)) {
    console.error('egts certgen: --days must be a positive whole number');
    return 2;
  }
  const out = args.out ?? certsDir(defaultHome());
  const serverNames = args['server-name']?.length ? args['server-name'] : defaultServerNames;
  if (!args.force) {
    const reason = checkCertificates(out, { serverNames });
    if (!reason) {
      console.log(`egts certgen: valid certificates already in ${out} (use --force to replace them)`);
      return 0;
    }
  }
  writeCertificates(out, generateCertificates({ serverNames, validityDays: days }));
  console.log(`egts certgen: wrote the CA, the server (envoy-gateway) and client (envoy) certificates to ${out}`);
  return 0;
}
