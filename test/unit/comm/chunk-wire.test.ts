import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeRingChunk, encodeRingChunk, type RingChunkHeader } from '../../../src/comm/chunk-wire.js';
import { standardPeerService } from '../../../src/comm/proto.js';

const header = (over: Partial<RingChunkHeader> = {}): RingChunkHeader => ({
  generation: 3, step: 2 ** 40 + 7, phase: 'ALL_GATHER', segment: 2, offset: 123456789, byte_length: 4 * 5,
  layout_hash: 'f'.repeat(64), bucket: 1, ring_step: 4, wire_dtype: 'FLOAT32', ...over,
});

function withPayload(h: RingChunkHeader): Buffer {
  const enc = encodeRingChunk(h);
  for (let i = 0; i < enc.payload.length; i++) enc.payload[i] = (i * 7) & 255;
  return enc.message;
}

test('RingChunk: our encoding decodes with protobufjs (the .proto) and with ours', () => {
  const ring = standardPeerService().Ring;
  for (const h of [header(), header({ byte_length: 0, layout_hash: '', phase: 'REDUCE_SCATTER' }), header({ byte_length: 300, wire_dtype: 'FLOAT16' })]) {
    const msg = withPayload(h);
    const viaProto = ring.responseDeserialize(msg) as Record<string, unknown>;
    const ours = decodeRingChunk(msg);
    for (const k of Object.keys(h) as (keyof RingChunkHeader)[]) {
      assert.equal(viaProto[k], h[k], `protobufjs ${k}`);
      assert.equal(ours[k], h[k], `ours ${k}`);
    }
    assert.deepEqual(Buffer.from(viaProto.payload as Buffer), Buffer.from(ours.payload));
    assert.equal(ours.payload.length, h.byte_length);
  }
});

test('RingChunk: protobufjs encoding decodes with ours', () => {
  const ring = standardPeerService().Ring;
  const payload = Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]);
  const msg = ring.responseSerialize({ ...header({ byte_length: 8 }), payload }) as Buffer;
  const ours = decodeRingChunk(msg);
  assert.equal(ours.step, 2 ** 40 + 7);
  assert.equal(ours.phase, 'ALL_GATHER');
  assert.deepEqual(Buffer.from(ours.payload), payload);
});

test('RingChunk: payload is 4-byte aligned after grpc framing (5-byte prefix in a fresh buffer)', () => {
  for (let len = 0; len < 40; len++) {
    for (const hash of ['', 'ab', 'x'.repeat(64), 'y'.repeat(200)]) {
      const msg = withPayload(header({ byte_length: len * 4, layout_hash: hash, offset: len * 1000003 }));
      const frame = Buffer.allocUnsafeSlow(msg.length + 5);
      msg.copy(frame, 5);
      const received = decodeRingChunk(frame.subarray(5));
      assert.equal(received.payload.byteOffset % 4, 0, `len ${len} hash ${hash.length}`);
      assert.equal(encodeRingChunk(header({ byte_length: len * 4, layout_hash: hash })).payload.byteOffset % 4, 0, 'sender-side payload aligned');
    }
  }
});

test('RingChunk: truncated input is a named error', () => {
  const msg = withPayload(header());
  assert.throws(() => decodeRingChunk(msg.subarray(0, msg.length - 3)), { name: 'RingChunkDecodeError' });
});
