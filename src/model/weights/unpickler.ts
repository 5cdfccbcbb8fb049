// A pickle reader that never executes anything. Python's pickle can call any importable
// function (GLOBAL + REDUCE), so a checkpoint is untrusted code; this VM only builds
// plain values (dict, list, tuple, str, int, float, bytes, None, bool) and resolves
// GLOBAL through a caller-supplied allow-list of pure JavaScript builders. Any other
// global, and the opcodes that instantiate arbitrary classes (INST, OBJ, EXT*), raise
// a CheckpointError naming what was asked for.
import { CheckpointError } from './tensor-record.js';

/** A Python dict (or OrderedDict) with insertion order kept. */
export class PyDict {
  readonly items = new Map<unknown, unknown>();
  /** Instance attributes set by BUILD (OrderedDict state_dicts carry `_metadata`). */
  attributes?: unknown;
  constructor(readonly pyType = 'dict') {}
}

/** An allow-listed global: calling it (REDUCE/NEWOBJ) runs `call`, a pure builder. */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
    readonly call: (args: readonly unknown[]) => unknown,
  ) {}
  get qualname(): string {
    return `${this.module}.${this.name}`;
  }
}

/** Objects that accept BUILD state (Python's __setstate__). */
export interface Buildable {
  setState(state: unknown): void;
}

export interface UnpickleOptions {
  /** Returns the builder for module.name, or undefined to refuse it. */
  findGlobal(module: string, name: string): PyGlobal | undefined;
  /** Resolves BINPERSID/PERSID ids (torch storages). */
  persistentLoad?(pid: unknown): unknown;
  /** Used in error messages. */
  file?: string;
  /** What is being read, e.g. 'archive/data.pkl'. */
  what?: string;
}

const MARK = Symbol('mark');

export function isTuple(v: unknown): v is readonly unknown[] {
  return Array.isArray(v) && Object.isFrozen(v);
}

function tuple(items: unknown[]): readonly unknown[] {
  return Object.freeze(items);
}

/** Runs the pickle in `data` and returns the value at STOP. */
export function unpickle(data: Buffer, opts: UnpickleOptions): unknown {
  const where = opts.what ? `${opts.what}: ` : '';
  const fail = (msg: string, at?: number): never => {
    throw new CheckpointError(`${where}${msg}${at === undefined ? '' : ` (pickle byte ${at})`}`, opts.file);
  };
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  let pos = 0;

  const need = (n: number): number => {
    if (pos + n > data.length) fail(`truncated: needs ${n} more bytes at ${pos}, has ${data.length - pos}`);
    const at = pos;
    pos += n;
    return at;
  };
  const u8 = () => data[need(1)];
  const u16 = () => data.readUInt16LE(need(2));
  const u32 = () => data.readUInt32LE(need(4));
  const u64 = () => {
    const v = data.readBigUInt64LE(need(8));
    if (v > BigInt(data.length)) fail(`length ${v} exceeds the pickle size`);
    return Number(v);
  };
  const bytes = (n: number) => data.subarray(need(n), pos);
  const line = (): string => {
    const end = data.indexOf(0x0a, pos);
    if (end < 0) fail('truncated: unterminated text line');
    const s = data.toString('utf8', pos, end);
    pos = end + 1;
    return s;
  };
  const pop = (): unknown => {
    if (stack.length === 0 || stack[stack.length - 1] === MARK) fail('stack underflow (corrupt pickle)', pos - 1);
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) fail('stack underflow (corrupt pickle)', pos - 1);
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const m = marks.pop();
    if (m === undefined) fail('MARK expected (corrupt pickle)', pos - 1);
    const items = stack.splice(m! + 1);
    stack.pop(); // the MARK itself
    return items;
  };
  const memoGet = (i: number): unknown => {
    if (!memo.has(i)) fail(`memo entry ${i} does not exist (corrupt pickle)`, pos - 1);
    return memo.get(i);
  };
  const resolve = (module: string, name: string): PyGlobal => {
    const g = opts.findGlobal(module, name);
    if (!g) {
      fail(
        `refusing to load global '${module}.${name}': it is not on the allow-list of plain tensor/container types ` +
          '(a checkpoint can run arbitrary code through such globals; re-save the state_dict only)',
      );
    }
    return g!;
  };
  const callGlobal = (fn: unknown, args: unknown): unknown => {
    if (!(fn instanceof PyGlobal)) fail(`cannot call a ${describe(fn)} (corrupt or unsupported pickle)`, pos - 1);
    if (!Array.isArray(args)) fail(`arguments of ${(fn as PyGlobal).qualname} are a ${describe(args)}, expected a tuple`, pos - 1);
    try {
      return (fn as PyGlobal).call(args as unknown[]);
    } catch (e) {
      if (e instanceof CheckpointError) throw e;
      return fail(`${(fn as PyGlobal).qualname}: ${(e as Error).message}`, pos - 1);
    }
  };
  const setItems = (target: unknown, kv: unknown[]): void => {
    if (!(target instanceof PyDict)) fail(`SETITEM on a ${describe(target)}`, pos - 1);
    for (let i = 0; i + 1 < kv.length; i += 2) (target as PyDict).items.set(kv[i], kv[i + 1]);
  };
  const appendItems = (target: unknown, items: unknown[]): void => {
    if (!Array.isArray(target) || isTuple(target)) fail(`APPEND on a ${describe(target)}`, pos - 1);
    (target as unknown[]).push(...items);
  };

  for (;;) {
    const at = pos;
    const op = u8();
    switch (op) {
      case 0x80: u8(); break; // PROTO
      case 0x95: need(8); break; // FRAME: framing is only an I/O hint
      case 0x2e: // STOP
        if (stack.length !== 1) fail(`STOP with ${stack.length} values on the stack (corrupt pickle)`, at);
        return stack[0];
      case 0x28: marks.push(stack.length); stack.push(MARK); break; // MARK
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: stack.push(top()); break; // DUP
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4a: stack.push(data.readInt32LE(need(4))); break; // BININT
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(u16()); break; // BININT2
      case 0x8a: stack.push(decodeLong(bytes(u8()))); break; // LONG1
      case 0x8b: stack.push(decodeLong(bytes(u32()))); break; // LONG4
      case 0x47: stack.push(data.readDoubleBE(need(8))); break; // BINFLOAT
      case 0x58: stack.push(bytes(u32()).toString('utf8')); break; // BINUNICODE
      case 0x8c: stack.push(bytes(u8()).toString('utf8')); break; // SHORT_BINUNICODE
      case 0x8d: stack.push(bytes(u64()).toString('utf8')); break; // BINUNICODE8
      case 0x54: stack.push(bytes(u32()).toString('latin1')); break; // BINSTRING (Python 2 str)
      case 0x55: stack.push(bytes(u8()).toString('latin1')); break; // SHORT_BINSTRING
      case 0x42: stack.push(Buffer.from(bytes(u32()))); break; // BINBYTES
      case 0x43: stack.push(Buffer.from(bytes(u8()))); break; // SHORT_BINBYTES
      case 0x8e: stack.push(Buffer.from(bytes(u64()))); break; // BINBYTES8
      case 0x96: stack.push(Buffer.from(bytes(u64()))); break; // BYTEARRAY8
      case 0x7d: stack.push(new PyDict()); break; // EMPTY_DICT
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x29: stack.push(tuple([])); break; // EMPTY_TUPLE
      case 0x8f: stack.push(new Set()); break; // EMPTY_SET
      case 0x90: { // ADDITEMS
        const items = popMark();
        const s = top();
        if (!(s instanceof Set)) fail(`ADDITEMS on a ${describe(s)}`, at);
        for (const x of items) (s as Set<unknown>).add(x);
        break;
      }
      case 0x91: stack.push(new Set(popMark())); break; // FROZENSET
      case 0x74: stack.push(tuple(popMark())); break; // TUPLE
      case 0x85: stack.push(tuple([pop()])); break; // TUPLE1
      case 0x86: { const b = pop(); const a = pop(); stack.push(tuple([a, b])); break; } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); const a = pop(); stack.push(tuple([a, b, c])); break; } // TUPLE3
      case 0x6c: stack.push(popMark()); break; // LIST
      case 0x64: { const d = new PyDict(); setItems(d, popMark()); stack.push(d); break; } // DICT
      case 0x73: { const v = pop(); const k = pop(); setItems(top(), [k, v]); break; } // SETITEM
      case 0x75: { const kv = popMark(); setItems(top(), kv); break; } // SETITEMS
      case 0x61: { const v = pop(); appendItems(top(), [v]); break; } // APPEND
      case 0x65: { const items = popMark(); appendItems(top(), items); break; } // APPENDS
      case 0x71: memo.set(u8(), top()); break; // BINPUT
      case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x70: memo.set(parseIntLine(line(), fail), top()); break; // PUT (text)
      case 0x68: stack.push(memoGet(u8())); break; // BINGET
      case 0x6a: stack.push(memoGet(u32())); break; // LONG_BINGET
      case 0x67: stack.push(memoGet(parseIntLine(line(), fail))); break; // GET (text)
      case 0x63: { const module = line(); stack.push(resolve(module, line())); break; } // GLOBAL
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings', at);
        stack.push(resolve(module as string, name as string));
        break;
      }
      case 0x52: { const args = pop(); const fn = pop(); stack.push(callGlobal(fn, args)); break; } // REDUCE
      case 0x81: { const args = pop(); const cls = pop(); stack.push(callGlobal(cls, args)); break; } // NEWOBJ
      case 0x62: { // BUILD
        const state = pop();
        const obj = top();
        if (obj instanceof PyDict) obj.attributes = state;
        else if (obj !== null && typeof obj === 'object' && typeof (obj as Partial<Buildable>).setState === 'function') (obj as Buildable).setState(state);
        else fail(`BUILD (setstate) on a ${describe(obj)} is not supported`, at);
        break;
      }
      case 0x51: { // BINPERSID
        const pid = pop();
        if (!opts.persistentLoad) fail('persistent id found but this pickle kind has none', at);
        stack.push(opts.persistentLoad!(pid));
        break;
      }
      case 0x69: case 0x6f: case 0x82: case 0x83: case 0x84: case 0x92:
        fail(`refusing pickle opcode 0x${op.toString(16)} (${OPCODE_NAMES[op]}): it instantiates arbitrary classes`, at);
        break;
      default:
        fail(`unsupported pickle opcode 0x${op.toString(16)}${op >= 0x20 && op < 0x7f ? ` ('${String.fromCharCode(op)}')` : ''}`, at);
    }
  }
}

const OPCODE_NAMES: Record<number, string> = { 0x69: 'INST', 0x6f: 'OBJ', 0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4', 0x92: 'NEWOBJ_EX' };

/** Little-endian two's-complement integer; a number when it fits exactly, else a bigint. */
function decodeLong(b: Buffer): number | bigint {
  if (b.length === 0) return 0;
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
  if (b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function parseIntLine(s: string, fail: (m: string) => never): number {
  if (!/^\d+$/.test(s)) fail(`bad memo index '${s}'`);
  return Number(s);
}

/** Python-ish type name of a decoded value, for messages. */
export function describe(v: unknown): string {
  if (v === null) return 'None';
  if (v === MARK) return 'MARK';
  if (v instanceof PyDict) return v.pyType;
  if (v instanceof PyGlobal) return `global ${v.qualname}`;
  if (isTuple(v)) return 'tuple';
  if (Array.isArray(v)) return 'list';
  if (Buffer.isBuffer(v)) return 'bytes';
  if (v instanceof Set) return 'set';
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return typeof v === 'string' ? 'str' : typeof v === 'number' ? (Number.isInteger(v) ? 'int' : 'float') : typeof v;
}
