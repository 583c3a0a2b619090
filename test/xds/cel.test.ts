// CEL expressions parsed as the reference parser numbers them: ids in visiting order (operands
// before the operator of a member call or a binary operator), positions at the operator token,
// balanced && / || chains, and macros left as text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCEL } from '../../src/xds/translator/cel.js';

test('member calls and selections: ids in order, positions at the dot and the parenthesis', () => {
  const p = parseCEL("request.path.startsWith('/admin')")!;
  assert.deepEqual(p.expr, {
    id: '3',
    callExpr: {
      target: { id: '2', selectExpr: { operand: { id: '1', identExpr: { name: 'request' } }, field: 'path' } },
      function: 'startsWith',
      args: [{ id: '4', constExpr: { stringValue: '/admin' } }],
    },
  });
  assert.deepEqual(p.sourceInfo, { location: '<input>', lineOffsets: [34], positions: { 1: 0, 2: 7, 3: 23, 4: 24 } });
});

test('binary operators take their id between the operands', () => {
  const p = parseCEL("request.method == 'POST'")!;
  assert.equal(p.expr.id, '3');
  assert.equal(p.expr.callExpr.function, '_==_');
  assert.equal(p.sourceInfo.positions[3], 15);
  assert.equal(p.expr.callExpr.args[1].id, '4');
});

test('logical chains are balanced and numbered after each right operand', () => {
  const p = parseCEL('a && b && c && d')!;
  // a=1, b=2, op1=3, c=4, op2=5, d=6, op3=7; the root is the middle operator.
  assert.equal(p.expr.id, '5');
  assert.deepEqual(p.expr.callExpr.args.map((a: any) => a.id), ['3', '7']);
});

test('literals: negative numbers, unsigned, doubles, bytes, escapes', () => {
  assert.deepEqual(parseCEL('-1')!.expr, { id: '1', constExpr: { int64Value: '-1' } });
  assert.deepEqual(parseCEL('2u')!.expr, { id: '1', constExpr: { uint64Value: '2' } });
  assert.deepEqual(parseCEL('1.5')!.expr, { id: '1', constExpr: { doubleValue: 1.5 } });
  assert.deepEqual(parseCEL("'a\\nb'")!.expr.constExpr, { stringValue: 'a\nb' });
  assert.deepEqual(parseCEL("b'ab'")!.expr.constExpr, { bytesValue: 'YWI=' });
  assert.equal(parseCEL('!x')!.expr.callExpr.function, '!_');
  assert.equal(parseCEL("x in ['a', 'b']")!.expr.callExpr.function, '@in');
});

test('macros and syntax errors are left for Envoy to compile from text', () => {
  assert.equal(parseCEL("has(request.headers['x'])"), undefined);
  assert.equal(parseCEL('[1, 2].all(x, x > 0)'), undefined);
  assert.equal(parseCEL('a &&'), undefined);
  assert.equal(parseCEL("'unterminated"), undefined);
});
