// The Coordinator service (protos/pipa/v1/coordinator.proto) as grpc-js sees it, and the
// message shapes as proto-loader decodes them (keepCase, longs as numbers, oneofs named by
// `kind`). Shared by the coordinator's server, the worker's client and `pipa status`.
import * as grpc from '@grpc/grpc-js';
import { loadPipaProtos } from '../comm/proto.js';

let definition: grpc.GrpcObject | null = null;

function pkg(): grpc.GrpcObject {
  definition ??= grpc.loadPackageDefinition(loadPipaProtos(['pipa/v1/coordinator.proto']));
  return definition;
}

export function coordinatorClientConstructor(): grpc.ServiceClientConstructor {
  return ((pkg().pipa as grpc.GrpcObject).v1 as grpc.GrpcObject).Coordinator as grpc.ServiceClientConstructor;
}

export function coordinatorService(): grpc.ServiceDefinition {
  return coordinatorClientConstructor().service;
}

/** State and config messages can be large; both ends set the limit explicitly. */
export const CONTROL_MAX_MESSAGE_BYTES = 64 << 20;
/** Bytes per StateChunk of PutState / GetState. */
export const STATE_CHUNK_BYTES = 4 << 20;

/**
 * No HTTP/2 keepalive pings: a worker's main thread is blocked by TF.js kernels for seconds
 * at a time and cannot answer them, so a pinging server would drop its connection mid-run.
 * Liveness is the heartbeat that the session thread sends instead.
 */
export const controlChannelOptions: grpc.ChannelOptions = {
  'grpc.max_receive_message_length': CONTROL_MAX_MESSAGE_BYTES,
  'grpc.max_send_message_length': CONTROL_MAX_MESSAGE_BYTES,
};

export interface JoinRequest {
  host: string;
  pid: number;
  peer_address: string;
  backend: string;
  config_hash: string;
  layout_hash: string;
}

export interface StepReportMsg {
  generation: number;
  step: number;
  lr: number;
  loss: Record<string, number>;
  ms: Record<string, number>;
  images: number;
  skipped: boolean;
}

export type SessionUp =
  | { kind: 'hello'; hello: { worker_id: string } }
  | { kind: 'heartbeat'; heartbeat: { step: number } }
  | { kind: 'step'; step: StepReportMsg }
  | { kind: 'done'; done: { generation: number; step: number } }
  | { kind: 'failed'; failed: { error: string } };

export interface StartGenerationMsg {
  generation: number;
  rank: number;
  world: number;
  peers: string[];
  start_step: number;
  state_from: 'init' | 'coordinator';
  end_step: number;
}

export type SessionDown = { kind: 'start'; start: StartGenerationMsg } | { kind: 'stop'; stop: { reason: string; error: boolean } };

export interface EvalReportMsg {
  worker_id: string;
  generation: number;
  step: number;
  rank: number;
  confusion_json: string;
  images: number;
}

export interface StateChunkMsg {
  step: number;
  generation: number;
  total_bytes: number;
  data: Buffer;
  final: boolean;
}

export interface WorkerStatusMsg {
  id: string;
  rank: number;
  host: string;
  pid: number;
  state: string;
  last_step: number;
  recent_step_ms: number;
  peer_address: string;
  seconds_since_heartbeat: number;
}

export interface StatusReplyMsg {
  generation: number;
  step: number;
  end_step: number;
  phase: string;
  workers: WorkerStatusMsg[];
  run_dir: string;
  last_miou: number;
}

/** Splits a state blob into StateChunk messages. */
export function* stateChunks(data: Buffer, step: number, generation: number, final: boolean): Generator<StateChunkMsg> {
  for (let off = 0; off < data.length || off === 0; off += STATE_CHUNK_BYTES) {
    yield { step, generation, total_bytes: data.length, data: data.subarray(off, off + STATE_CHUNK_BYTES), final };
    if (data.length === 0) break;
  }
}

/** Reassembles StateChunk messages; checks the announced total. */
export function joinChunks(chunks: StateChunkMsg[]): { step: number; generation: number; final: boolean; data: Buffer } {
  if (chunks.length === 0) throw new Error('state stream carried no chunks');
  const data = Buffer.concat(chunks.map((c) => c.data));
  const first = chunks[0];
  if (data.length !== first.total_bytes) throw new Error(`state stream announced ${first.total_bytes} bytes but carried ${data.length}`);
  return { step: first.step, generation: first.generation, final: first.final, data };
}

/** Deadline `ms` from now, as grpc-js wants it. */
export function deadlineIn(ms: number): Date {
  return new Date(Date.now() + ms);
}
