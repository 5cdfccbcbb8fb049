// The safe unpickler: plain values decode, memo/marks work, and anything that could run
// code (an os.system global, INST/OBJ opcodes) is refused with a CheckpointError.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PyDict, isTuple, unpickle } from '../../src/model/weights/unpickler.js';
import { findTorchGlobal } from '../../src/model/weights/torch-globals.js';
import { CheckpointError } from '../../src/model/weights/tensor-record.js';
import { PickleWriter } from './weights-builders.js';

const opts = { findGlobal: findTorchGlobal, file: 'x.pkl' };

test('unpickler: scalars, strings, containers, memo', () => {
  const w = new PickleWriter().proto(2).emptyDict().put(0).mark();
  w.str('ints').mark().int(0).int(255).int(256).int(-1).int(2147483647).long(-5n, 1).long(2n ** 40n, 6).long(2n ** 63n, 9).opcode(0x6c); // LIST
  w.str('float').float(-1.25);
  w.str('flags').none().bool(true).bool(false).opcode(0x87); // TUPLE3
  w.str('ünï').str('ok').put(1);
  w.str('again').get(1);
  w.str('nested').emptyList().put(2).mark().emptyTuple().str('x').opcode(0x85).appends(); // [(), ('x',)]
  w.setitems().stop();
  const v = unpickle(w.bytes(), opts) as PyDict;
  assert.ok(v instanceof PyDict);
  assert.deepEqual(v.items.get('ints'), [0, 255, 256, -1, 2147483647, -5, 2 ** 40, 2n ** 63n]);
  assert.equal(v.items.get('float'), -1.25);
  const flags = v.items.get('flags');
  assert.ok(isTuple(flags));
  assert.deepEqual([...(flags as unknown[])], [null, true, false]);
  assert.equal(v.items.get('ünï'), 'ok');
  assert.equal(v.items.get('again'), 'ok');
  const nested = v.items.get('nested') as unknown[];
  assert.equal(nested.length, 2);
  assert.ok(isTuple(nested[0]) && (nested[0] as unknown[]).length === 0);
  assert.ok(isTuple(nested[1]) && (nested[1] as unknown[])[0] === 'x');
  assert.deepEqual([...(v.items.keys())], ['ints', 'float', 'flags', 'ünï', 'again', 'nested']);
});

test('unpickler: OrderedDict via GLOBAL and via STACK_GLOBAL + MEMOIZE, BUILD sets attributes', () => {
  const w = new PickleWriter().proto(4).stackGlobal('collections', 'OrderedDict').memoize().emptyTuple().reduce();
  w.str('k').int(3).setitem().emptyDict().str('_metadata').str('m').setitem().build().stop();
  const v = unpickle(w.bytes(), opts) as PyDict;
  assert.equal(v.pyType, 'OrderedDict');
  assert.equal(v.items.get('k'), 3);
  assert.ok(v.attributes instanceof PyDict);
});

function expectRefused(bytes: Buffer, pattern: RegExp): void {
  assert.throws(
    () => unpickle(bytes, opts),
    (e: unknown) => {
      assert.ok(e instanceof CheckpointError, `got ${String(e)}`);
      assert.match(e.message, /^x\.pkl: /);
      assert.match(e.message, pattern);
      return true;
    },
  );
}

test('unpickler: os.system is refused, never called (GLOBAL and STACK_GLOBAL)', () => {
  // The classic payload: os.system('echo pwned') via GLOBAL + REDUCE.
  const viaGlobal = new PickleWriter().proto(2).global('os', 'system').str('echo pwned').opcode(0x85).reduce().stop().bytes();
  expectRefused(viaGlobal, /refusing to load global 'os\.system'/);
  const viaStack = new PickleWriter().proto(4).stackGlobal('builtins', 'eval').str('1').opcode(0x85).reduce().stop().bytes();
  expectRefused(viaStack, /refusing to load global 'builtins\.eval'/);
  const posix = new PickleWriter().proto(2).global('posix', 'system').stop().bytes();
  expectRefused(posix, /'posix\.system'/);
});

test('unpickler: INST/OBJ/EXT opcodes are refused; unknown opcodes and truncation are errors', () => {
  expectRefused(Buffer.from('(ios\nsystem\nS"x"\n.', 'latin1'), /INST/);
  expectRefused(new PickleWriter().proto(2).mark().opcode(0x6f).stop().bytes(), /OBJ/);
  expectRefused(Buffer.from([0x80, 2, 0x82, 1, 0x2e]), /EXT1/);
  expectRefused(Buffer.from([0x80, 2, 0xff]), /unsupported pickle opcode 0xff/);
  const whole = new PickleWriter().proto(2).str('a long enough string').stop().bytes();
  expectRefused(whole.subarray(0, 10), /truncated/);
  expectRefused(whole.subarray(0, whole.length - 1), /truncated/);
  expectRefused(new PickleWriter().proto(2).get(7).stop().bytes(), /memo entry 7/);
});

test('unpickler: persistent ids need a loader', () => {
  expectRefused(new PickleWriter().proto(2).str('p').binpersid().stop().bytes(), /persistent id/);
  const v = unpickle(new PickleWriter().proto(2).str('p').binpersid().stop().bytes(), { ...opts, persistentLoad: (pid) => `loaded:${String(pid)}` });
  assert.equal(v, 'loaded:p');
});
