// CEL expressions as Envoy receives them from Envoy Gateway: parsed (cel.expr.ParsedExpr, in the
// proto3 JSON mapping), with expression ids and source positions assigned as the reference CEL
// parser assigns them, so the same text always yields the same message. Macros (has, all,
// exists, exists_one, map, filter) expand into comprehensions that this parser does not build:
// expressions using them, or text that does not parse, are returned as undefined and sent as
// text (cel_expr_string) for Envoy to compile instead.
import type { Msg } from './util.js';

type TokenKind = 'ident' | 'int' | 'uint' | 'double' | 'string' | 'bytes' | 'op' | 'eof';

interface Token {
  kind: TokenKind;
  text: string;
  /** The literal's value (strings unescaped, numbers as text). */
  value?: string;
  pos: number;
}

const operators = ['&&', '||', '==', '!=', '<=', '>=', '<', '>', '?', ':', '!', '-', '+', '*', '/', '%', '.', ',', '(', ')', '[', ']', '{', '}'];
const macros = new Set(['has', 'all', 'exists', 'exists_one', 'map', 'filter']);

class CELSyntaxError extends Error {}

const escapes: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\', "'": "'", '"': '"', '`': '`', '?': '?' };

function unescape(body: string): string {
  return body.replace(/\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{3}|.)/g, (_, e: string) => {
    if (e[0] === 'x' || e[0] === 'u' || e[0] === 'U') return String.fromCodePoint(parseInt(e.slice(1), 16));
    if (/^[0-7]{3}$/.test(e)) return String.fromCodePoint(parseInt(e, 8));
    const c = escapes[e];
    if (c === undefined) throw new CELSyntaxError(`invalid escape \\${e}`);
    return c;
  });
}

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) { i++; continue; }
    if (src.startsWith('//', i)) { while (i < src.length && src[i] !== '\n') i++; continue; }
    const start = i;
    // String and bytes literals, with optional raw (r) and bytes (b) prefixes.
    const lit = /^([rR][bB]?|[bB][rR]?)?('''|"""|'|")/.exec(src.slice(i));
    if (lit) {
      const prefix = (lit[1] ?? '').toLowerCase();
      const quote = lit[2]!;
      let j = i + lit[0].length;
      let body = '';
      for (;;) {
        if (j >= src.length) throw new CELSyntaxError('unterminated string');
        if (src.startsWith(quote, j)) break;
        if (src[j] === '\\' && !prefix.includes('r')) { body += src.slice(j, j + 2); j += 2; continue; }
        if (quote.length === 1 && src[j] === '\n') throw new CELSyntaxError('newline in string');
        body += src[j++];
      }
      const value = prefix.includes('r') ? body : unescape(body);
      out.push({ kind: prefix.includes('b') ? 'bytes' : 'string', text: src.slice(start, j + quote.length), value, pos: start });
      i = j + quote.length;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      while (i < src.length && /[A-Za-z0-9_]/.test(src[i]!)) i++;
      out.push({ kind: 'ident', text: src.slice(start, i), pos: start });
      continue;
    }
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(src[i + 1] ?? ''))) {
      const hex = /^0[xX][0-9a-fA-F]+([uU])?/.exec(src.slice(i));
      if (hex) {
        i += hex[0].length;
        out.push({ kind: hex[1] ? 'uint' : 'int', text: hex[0], value: String(BigInt(hex[0].replace(/[uU]$/, ''))), pos: start });
        continue;
      }
      const num = /^(?:[0-9]+)?(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/.exec(src.slice(i))![0];
      i += num.length;
      if (/[.eE]/.test(num)) {
        out.push({ kind: 'double', text: num, value: num, pos: start });
      } else if (src[i] === 'u' || src[i] === 'U') {
        i++;
        out.push({ kind: 'uint', text: src.slice(start, i), value: num, pos: start });
      } else {
        out.push({ kind: 'int', text: num, value: num, pos: start });
      }
      continue;
    }
    const op = operators.find((o) => src.startsWith(o, i));
    if (!op) throw new CELSyntaxError(`unexpected character ${JSON.stringify(c)}`);
    out.push({ kind: 'op', text: op, pos: start });
    i += op.length;
  }
  out.push({ kind: 'eof', text: '', pos: src.length });
  return out;
}

class Parser {
  private i = 0;
  private nextID = 1;
  readonly positions: Record<string, number> = {};

  constructor(private readonly tokens: Token[]) {}

  private peek(): Token {
    return this.tokens[this.i]!;
  }

  private isOp(text: string): boolean {
    const t = this.peek();
    return t.kind === 'op' && t.text === text;
  }

  private take(): Token {
    return this.tokens[this.i++]!;
  }

  private expect(text: string): Token {
    if (!this.isOp(text)) throw new CELSyntaxError(`expected ${text} at ${this.peek().pos}`);
    return this.take();
  }

  /** A new expression id, recording where in the text it starts. */
  private id(pos: number): string {
    const id = String(this.nextID++);
    this.positions[id] = pos;
    return id;
  }

  private call(id: string, fn: string, args: Msg[], target?: Msg): Msg {
    return { id, callExpr: target ? { target, function: fn, args } : { function: fn, args } };
  }

  parse(): Msg {
    const e = this.expr();
    if (this.peek().kind !== 'eof') throw new CELSyntaxError(`unexpected ${this.peek().text}`);
    return e;
  }

  private expr(): Msg {
    const cond = this.or();
    if (!this.isOp('?')) return cond;
    const id = this.id(this.take().pos);
    const t = this.or();
    this.expect(':');
    const f = this.expr();
    return this.call(id, '_?_:_', [cond, t, f]);
  }

  /** && and || chains are balanced trees, as the reference parser builds them. */
  private chain(op: string, fn: string, next: () => Msg): Msg {
    const first = next();
    const terms = [first];
    const ids: string[] = [];
    while (this.isOp(op)) {
      const pos = this.take().pos;
      const term = next();
      ids.push(this.id(pos));
      terms.push(term);
    }
    if (!ids.length) return first;
    const balance = (lo: number, hi: number): Msg => {
      if (lo === hi) return terms[lo]!;
      const mid = Math.floor((lo + hi + 1) / 2);
      return this.call(ids[mid - 1]!, fn, [balance(lo, mid - 1), balance(mid, hi)]);
    };
    return balance(0, terms.length - 1);
  }

  private or(): Msg {
    return this.chain('||', '_||_', () => this.and());
  }

  private and(): Msg {
    return this.chain('&&', '_&&_', () => this.relation());
  }

  private relation(): Msg {
    let lhs = this.additive();
    for (;;) {
      const t = this.peek();
      const fn = t.kind === 'op' ? { '<': '_<_', '<=': '_<=_', '>=': '_>=_', '>': '_>_', '==': '_==_', '!=': '_!=_' }[t.text] : t.kind === 'ident' && t.text === 'in' ? '@in' : undefined;
      if (!fn) return lhs;
      const id = this.id(this.take().pos);
      lhs = this.call(id, fn, [lhs, this.additive()]);
    }
  }

  private additive(): Msg {
    let lhs = this.multiplicative();
    while (this.isOp('+') || this.isOp('-')) {
      const t = this.take();
      const id = this.id(t.pos);
      lhs = this.call(id, t.text === '+' ? '_+_' : '_-_', [lhs, this.multiplicative()]);
    }
    return lhs;
  }

  private multiplicative(): Msg {
    let lhs = this.unary();
    while (this.isOp('*') || this.isOp('/') || this.isOp('%')) {
      const t = this.take();
      const id = this.id(t.pos);
      lhs = this.call(id, { '*': '_*_', '/': '_/_', '%': '_%_' }[t.text]!, [lhs, this.unary()]);
    }
    return lhs;
  }

  private unary(): Msg {
    if (this.isOp('!') || this.isOp('-')) {
      const op = this.peek().text;
      const first = this.peek();
      let n = 0;
      while (this.isOp(op)) { this.take(); n++; }
      // A single minus directly before a number is part of the literal.
      const lit = this.peek();
      if (op === '-' && n === 1 && (lit.kind === 'int' || lit.kind === 'double') && lit.pos === first.pos + 1) {
        this.take();
        return this.member(this.literal({ ...lit, value: `-${lit.value}` }, first.pos));
      }
      if (n % 2 === 0) return this.member(this.primary());
      const id = this.id(first.pos);
      return this.call(id, op === '!' ? '!_' : '-_', [this.member(this.primary())]);
    }
    return this.member(this.primary());
  }

  private member(e: Msg): Msg {
    for (;;) {
      if (this.isOp('.')) {
        const dot = this.take();
        const name = this.take();
        if (name.kind !== 'ident') throw new CELSyntaxError(`expected a field name at ${name.pos}`);
        if (this.isOp('(')) {
          const id = this.id(this.take().pos);
          if (macros.has(name.text)) throw new CELSyntaxError(`macro ${name.text}`);
          e = this.call(id, name.text, this.args(')'), e);
        } else {
          e = { id: this.id(dot.pos), selectExpr: { operand: e, field: name.text } };
        }
      } else if (this.isOp('[')) {
        const id = this.id(this.take().pos);
        const index = this.expr();
        this.expect(']');
        e = this.call(id, '_[_]', [e, index]);
      } else {
        return e;
      }
    }
  }

  private args(close: string): Msg[] {
    const out: Msg[] = [];
    if (!this.isOp(close)) {
      out.push(this.expr());
      while (this.isOp(',')) {
        this.take();
        if (this.isOp(close)) break;
        out.push(this.expr());
      }
    }
    this.expect(close);
    return out;
  }

  private literal(t: Token, pos = t.pos): Msg {
    const id = this.id(pos);
    switch (t.kind) {
      case 'int': return { id, constExpr: { int64Value: t.value } };
      case 'uint': return { id, constExpr: { uint64Value: t.value } };
      case 'double': return { id, constExpr: { doubleValue: Number(t.value) } };
      case 'string': return { id, constExpr: { stringValue: t.value } };
      case 'bytes': return { id, constExpr: { bytesValue: Buffer.from(t.value!, 'latin1').toString('base64') } };
      default: throw new CELSyntaxError(`unexpected ${t.text}`);
    }
  }

  private primary(): Msg {
    const t = this.peek();
    if (t.kind === 'ident') {
      this.take();
      if (t.text === 'true' || t.text === 'false') return { id: this.id(t.pos), constExpr: { boolValue: t.text === 'true' } };
      if (t.text === 'null') return { id: this.id(t.pos), constExpr: { nullValue: 'NULL_VALUE' } };
      if (this.isOp('(')) {
        if (macros.has(t.text)) throw new CELSyntaxError(`macro ${t.text}`);
        const id = this.id(this.take().pos);
        return this.call(id, t.text, this.args(')'));
      }
      return { id: this.id(t.pos), identExpr: { name: t.text } };
    }
    if (t.kind === 'op') {
      if (t.text === '(') {
        this.take();
        const e = this.expr();
        this.expect(')');
        return e;
      }
      if (t.text === '[') {
        const id = this.id(this.take().pos);
        return { id, listExpr: { elements: this.args(']') } };
      }
      if (t.text === '{') {
        const id = this.id(this.take().pos);
        const entries: Msg[] = [];
        while (!this.isOp('}')) {
          const keyStart = this.i;
          // The entry's id is the colon's, taken before its key is parsed.
          let depth = 0;
          let j = keyStart;
          for (; j < this.tokens.length; j++) {
            const k = this.tokens[j]!;
            if (k.kind === 'eof') throw new CELSyntaxError('unterminated map');
            if (k.kind === 'op' && '([{'.includes(k.text)) depth++;
            else if (k.kind === 'op' && ')]}'.includes(k.text)) depth--;
            else if (depth === 0 && k.kind === 'op' && k.text === ':') break;
          }
          const entryID = this.id(this.tokens[j]!.pos);
          const key = this.expr();
          this.expect(':');
          const value = this.expr();
          entries.push({ id: entryID, mapKey: key, value });
          if (!this.isOp(',')) break;
          this.take();
        }
        this.expect('}');
        return { id, structExpr: { entries } };
      }
    }
    return this.literal(this.take());
  }
}

/** The ParsedExpr of a CEL expression, or undefined when it must be sent as text. */
export function parseCEL(text: string): Msg | undefined {
  let expr: Msg;
  let parser: Parser;
  try {
    parser = new Parser(tokenize(text));
    expr = parser.parse();
  } catch (err) {
    if (err instanceof CELSyntaxError) return undefined;
    throw err;
  }
  const lineOffsets: number[] = [];
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') lineOffsets.push(i + 1);
  lineOffsets.push(text.length + 1);
  return { expr, sourceInfo: { location: '<input>', lineOffsets, positions: parser.positions } };
}
