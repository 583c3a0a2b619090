// Node's own HTTP/1.1 parser (llhttp, strict mode), used directly on sockets for both legs of the
// proxy: no IncomingMessage/ServerResponse objects, no header objects, one parser per connection.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const common = require('_http_common') as { HTTPParser: any; methods: string[] };

export const HTTPParser = common.HTTPParser as {
  new (): Parser;
  REQUEST: number;
  RESPONSE: number;
  kOnMessageBegin: number;
  kOnHeaders: number;
  kOnHeadersComplete: number;
  kOnBody: number;
  kOnMessageComplete: number;
  kOnExecute: number;
  kOnTimeout: number;
  kLenientNone: number;
};

/** llhttp method numbers to names. */
export const METHODS: string[] = common.methods;

export interface Parser {
  initialize(type: number, resource: object, maxHeaderSize?: number, lenient?: number): void;
  execute(chunk: Buffer): number | Error;
  finish(): undefined | Error;
  pause(): void;
  resume(): void;
  close(): void;
  free(): void;
  remove(): void;
  getCurrentBuffer(): Buffer;
  consume(handle: unknown): void;
  unconsume(): void;
  [k: number]: Function;
}

export interface ParseError extends Error {
  code: string;
  reason: string;
  bytesParsed: number;
}

const resource = {};

export function newParser(type: number, maxHeaderSize: number): Parser {
  const p = new HTTPParser();
  p.initialize(type, resource, maxHeaderSize, HTTPParser.kLenientNone);
  return p;
}

/**
 * Ends a parser's life when its connection is done. The native parser holds its JavaScript object
 * (and, through the callbacks set on it, the connection, its listener or cluster) until close(): a
 * parser never closed is a connection never freed. As in Node's own freeParser, the close waits
 * for the current parse to unwind; a parser that read the socket natively lets go of it first.
 */
export function closeParser(p: Parser, consumed = false): void {
  if (consumed) p.unconsume();
  setImmediate(closeNow, p);
}

function closeNow(p: Parser): void {
  p.close();
}
