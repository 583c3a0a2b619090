// Build step: parse Envoy's protos once and write the Schema next to the compiled code, so that
// processes load it in milliseconds instead of parsing .proto files (run by `npm run build`).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { buildSchema, schemaCachePath } from './load.js';

const start = performance.now();
const schema = buildSchema();
mkdirSync(dirname(schemaCachePath), { recursive: true });
writeFileSync(schemaCachePath, JSON.stringify(schema));
const ms = Math.round(performance.now() - start);
console.error(`egts: wrote ${schemaCachePath} (${Object.keys(schema.messages).length} messages, ${ms} ms)`);
