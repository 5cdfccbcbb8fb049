// The data plane's public surface, for worker/ and cli.ts.
//
//   const server = await PeerServer.listen(host, port);          // one per process, all generations
//   const ring = new RingCommunicator(server, { rank, worldSize, generation, peers });
//   const res = await ring.allReduce(fusion, { step, layoutHash, op: 'mean', nonFiniteFlag: true });
//
// or, to keep the ring alive while TF.js blocks the main thread:
//
//   const rt = await RingThread.start({ host, port });            // rt.address → coordinator
//   await rt.configure({ rank, worldSize, generation, peers });
//   const fusion = new Float32Array(new SharedArrayBuffer(4 * (n + 1)));
//   const res = await rt.allReduce(fusion, { step, layoutHash, op: 'mean', nonFiniteFlag: true });
export type { AllReduceOptions, AllReduceResult, AllReducer, RingConfig } from './allreduce-types.js';
export { RING_DEFAULTS } from './allreduce-types.js';
export { DEFAULT_TRANSPORT, type TransportOptions } from './channel-options.js';
export { wireCodec, type WireCodec, type WireDtypeOption } from './codec.js';
export {
  FingerprintMismatchError, GenerationChangedError, PeerUnavailableError, RingAbortedError, RingConfigError, RingError,
  RingProtocolError, RingTimeoutError, type RingPhaseLabel,
} from './errors.js';
export { markNonFinite, withFlagLength } from './non-finite.js';
export { hasRingProcessEnv, RING_PROCESS_ENV } from './process-env.js';
export { PeerServer } from './peer-server.js';
export { loadPipaProtos, PROTOS_DIR, PROTO_LOADER_OPTIONS } from './proto.js';
export { RingCommunicator } from './ring-communicator.js';
export { RingThread } from './ring-thread.js';
