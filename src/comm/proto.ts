// Loads the wire contract (protos/pipa/v1/*.proto) with @grpc/proto-loader. The folder is
// found relative to this file, so it works from any working directory and from a worker thread.
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { decodeRingChunk, type DecodedRingChunk } from './chunk-wire.js';

export const PROTOS_DIR = fileURLToPath(new URL('../../protos', import.meta.url));

/** keepCase: field names as in the .proto; longs as Number; bytes as Buffer; enums as names. */
export const PROTO_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  bytes: Buffer,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTOS_DIR],
};

/** Parse one or more files below protos/ (e.g. 'pipa/v1/peer.proto'). */
export function loadPipaProtos(files: string[]): protoLoader.PackageDefinition {
  return protoLoader.loadSync(files, PROTO_LOADER_OPTIONS);
}

let peerDefinition: protoLoader.PackageDefinition | null = null;

function peerPackage(): protoLoader.PackageDefinition {
  peerDefinition ??= loadPipaProtos(['pipa/v1/peer.proto']);
  return peerDefinition;
}

/** The Peer service exactly as proto-loader builds it (protobufjs codecs everywhere). */
export function standardPeerService(): grpc.ServiceDefinition {
  return peerPackage()['pipa.v1.Peer'] as grpc.ServiceDefinition;
}

/**
 * The Peer service used on the wire: as the .proto says, except that RingChunk responses are
 * written as already-encoded Buffers (src/comm/chunk-wire.ts writes header + payload in one
 * copy and aligns the payload) and decoded into views without copying the payload again.
 */
export function peerService(): grpc.ServiceDefinition {
  const std = standardPeerService();
  const ring = std.Ring as grpc.MethodDefinition<unknown, unknown>;
  return {
    Ring: {
      ...ring,
      responseSerialize: (encoded: Buffer): Buffer => encoded,
      responseDeserialize: (bytes: Buffer): DecodedRingChunk => decodeRingChunk(bytes),
    } as grpc.MethodDefinition<unknown, unknown>,
  };
}

/** A client constructor for the Peer service (wire codecs as in peerService()). */
export function peerClientConstructor(): grpc.ServiceClientConstructor {
  return grpc.makeGenericClientConstructor(peerService() as grpc.ServiceDefinition, 'Peer');
}
